"""ML-MotEx: which atoms of a starting structure a measured PDF needs, from thousands of cut-out fits, gradient
boosting and SHAP values (Anker et al., npj Comput. Mater. 8, 213 (2022))."""

from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/isotopes.smk"


localrules:
    all,
    isotopes,


rule all:
    default_target: True
    input:
        rules.isotopes.input,

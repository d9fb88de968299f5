from fingerprintml.motifs import layout as motifs_layout

MOT = config["motifs"]
MOT_RESULTS = motifs_layout.RESULTS
MOT_LOGS = "logs/motifs/{dataset}"
MOT_FIT_DIR = "fits_srreal" if MOT["engine"] == "srreal" else "fits"
# The user's own data (motifs.input: structure with PDF and/or fits table) is the dataset `user`, built instead of
# motifs.dataset when given (unless motifs.dataset names user itself).
MOT_DATASETS = motifs_layout.built_datasets(MOT)
MOT_FIGURES = list(motifs_layout.FIGURE_FILES)
MOT_SHARED = {
    "seed": MOT["seed"],
    "removable": MOT["removable"],
    "bond_cutoff": MOT["bond_cutoff"],
}
MOT_STRUCTURE = lambda wildcards: motifs_layout.source(
    MOT, wildcards.dataset, "structure", downloaded
)
MOT_DATA = lambda wildcards: motifs_layout.source(
    MOT, wildcards.dataset, "data", downloaded
)
MOT_CATALOGUE = lambda wildcards: motifs_layout.catalogue_file(MOT, wildcards.dataset)
MOT_FITS = lambda wildcards: motifs_layout.fits_file(MOT, wildcards.dataset)


rule motifs:
    input:
        [
            path
            for dataset in MOT_DATASETS
            for path in motifs_layout.result_files(MOT, dataset)
        ],


rule motifs_generate:
    output:
        structure=f"{MOT_RESULTS}/{motifs_layout.GENERATED['structure']}",
        data=f"{MOT_RESULTS}/{motifs_layout.GENERATED['data']}",
        planted=f"{MOT_RESULTS}/generated/planted.csv",
    log:
        f"{MOT_LOGS}/generate.log",
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=MOT["seed"],
        generator=per_dataset("motifs", "generator"),
    script:
        "../scripts/motifs/generate.py"


rule motifs_catalogue:
    input:
        structure=MOT_STRUCTURE,
    output:
        f"{MOT_RESULTS}/catalogue.csv",
    log:
        f"{MOT_LOGS}/catalogue.log",
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        runtime=10,
    params:
        **MOT_SHARED,
        cutouts=per_dataset("motifs", "cutouts"),
    script:
        "../scripts/motifs/catalogue.py"


rule motifs_import_fits:
    input:
        structure=MOT_STRUCTURE,
        table=MOT["input"].get("fits") or [],
    output:
        catalogue=f"{MOT_RESULTS}/{motifs_layout.IMPORTED['catalogue']}",
        fits=f"{MOT_RESULTS}/{motifs_layout.IMPORTED['fits']}",
    log:
        f"{MOT_LOGS}/import_fits.log",
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/motifs/import_fits.py"


MOT_FIT_PARAMS = {
    "shard_size": per_dataset("motifs", "shard_size"),
    "pdf": MOT["pdf"],
    "fit": MOT["fit"],
    "device": MOT["device"],
}


rule motifs_fit:
    input:
        structure=MOT_STRUCTURE,
        data=MOT_DATA,
        catalogue=rules.motifs_catalogue.output[0],
    output:
        f"{MOT_RESULTS}/fits/shard_{{shard}}.csv",
    log:
        f"{MOT_LOGS}/fits/shard_{{shard}}.log",
    benchmark:
        "benchmarks/motifs/{dataset}/fits/shard_{shard}.tsv"
    wildcard_constraints:
        shard=r"\d{5}",
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        gpu=MOT["gpu"],
    params:
        **MOT_FIT_PARAMS,
        engine="srfit" if MOT["engine"] == "srfit" else "fast",
    script:
        "../scripts/motifs/fit.py"


rule motifs_fit_srreal:
    input:
        structure=MOT_STRUCTURE,
        data=MOT_DATA,
        catalogue=rules.motifs_catalogue.output[0],
    output:
        f"{MOT_RESULTS}/fits_srreal/shard_{{shard}}.csv",
    log:
        f"{MOT_LOGS}/fits_srreal/shard_{{shard}}.log",
    benchmark:
        "benchmarks/motifs/{dataset}/fits_srreal/shard_{shard}.tsv"
    wildcard_constraints:
        shard=r"\d{5}",
    conda:
        "../../envs/motifs-srreal.yaml"
    resources:
        mem_mb=4000,
        runtime=600,
    params:
        **MOT_FIT_PARAMS,
        engine="srreal",
    script:
        "../scripts/motifs/fit.py"


rule motifs_gather:
    input:
        catalogue=rules.motifs_catalogue.output[0],
        shards=lambda wildcards: motifs_layout.shard_files(
            MOT, wildcards.dataset, MOT_FIT_DIR
        ),
    output:
        f"{MOT_RESULTS}/fits.csv",
    log:
        f"{MOT_LOGS}/gather.log",
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/motifs/gather.py"


rule motifs_model:
    input:
        structure=MOT_STRUCTURE,
        catalogue=MOT_CATALOGUE,
        fits=MOT_FITS,
    output:
        model=f"{MOT_RESULTS}/model/xgboost.json",
        search=f"{MOT_RESULTS}/model/search.csv",
        metrics=f"{MOT_RESULTS}/model_metrics.json",
    log:
        f"{MOT_LOGS}/model.log",
    benchmark:
        "benchmarks/motifs/{dataset}/model.tsv"
    conda:
        "../../envs/motifs-ml.yaml"
    params:
        seed=MOT["seed"],
        removable=MOT["removable"],
        model=MOT["model"],
        n_calls=per_dataset("motifs", "model.n_calls"),
    script:
        "../scripts/motifs/model.py"


rule motifs_shap:
    input:
        structure=MOT_STRUCTURE,
        catalogue=MOT_CATALOGUE,
        model=rules.motifs_model.output.model,
    output:
        features=f"{MOT_RESULTS}/model/features.csv",
        shap=f"{MOT_RESULTS}/model/shap.csv",
    log:
        f"{MOT_LOGS}/shap.log",
    conda:
        "../../envs/motifs-ml.yaml"
    resources:
        runtime=20,
    params:
        removable=MOT["removable"],
    script:
        "../scripts/motifs/shap.py"


rule motifs_bootstrap:
    input:
        structure=MOT_STRUCTURE,
        catalogue=MOT_CATALOGUE,
        fits=MOT_FITS,
        metrics=rules.motifs_model.output.metrics,
    output:
        f"{MOT_RESULTS}/model/bootstrap.csv",
    log:
        f"{MOT_LOGS}/bootstrap.log",
    benchmark:
        "benchmarks/motifs/{dataset}/bootstrap.tsv"
    conda:
        "../../envs/motifs-ml.yaml"
    threads: 2
    params:
        **MOT_SHARED,
        spread_factor=MOT["motif"]["spread_factor"],
        bootstrap=per_dataset("motifs", "bootstrap"),
    script:
        "../scripts/motifs/bootstrap.py"


rule motifs_atoms:
    input:
        structure=MOT_STRUCTURE,
        catalogue=MOT_CATALOGUE,
        shap=rules.motifs_shap.output.shap,
        bootstrap=rules.motifs_bootstrap.output[0],
    output:
        table=study_report(f"{MOT_RESULTS}/atoms.csv", "motifs", "atoms", "tables"),
        xyz=f"{MOT_RESULTS}/structure_acv.xyz",
        cif=f"{MOT_RESULTS}/structure_acv.cif",
        motif_xyz=f"{MOT_RESULTS}/motif.xyz",
        motif_cif=f"{MOT_RESULTS}/motif.cif",
    log:
        f"{MOT_LOGS}/atoms.log",
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        removable=MOT["removable"],
        bond_cutoff=MOT["bond_cutoff"],
        spread_factor=MOT["motif"]["spread_factor"],
        level=MOT["motif"]["confidence_level"],
    script:
        "../scripts/motifs/atoms.py"


rule motifs_refine:
    input:
        structure=MOT_STRUCTURE,
        data=MOT_DATA,
        atoms=rules.motifs_atoms.output.table,
    output:
        result=f"{MOT_RESULTS}/motif_fit.json",
        profile=f"{MOT_RESULTS}/motif_fit.csv",
    log:
        f"{MOT_LOGS}/refine.log",
    benchmark:
        "benchmarks/motifs/{dataset}/refine.tsv"
    conda:
        "../../envs/motifs-fit.yaml"
    resources:
        runtime=30,
    params:
        pdf=MOT["pdf"],
        fit=MOT["fit"],
        refine=MOT["motif"]["refine"],
    script:
        "../scripts/motifs/refine.py"


rule motifs_recovery:
    input:
        planted=rules.motifs_generate.output.planted,
        atoms=rules.motifs_atoms.output.table,
    output:
        f"{MOT_RESULTS}/recovery.json",
    log:
        f"{MOT_LOGS}/recovery.log",
    conda:
        "../../envs/motifs-figures.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/motifs/recovery.py"


rule motifs_figure:
    input:
        unpack(
            lambda wildcards: motifs_layout.figure_inputs(
                MOT, wildcards.dataset, wildcards.figure
            )
        ),
    output:
        pdf=f"{MOT_RESULTS}/figures/{{figure}}.pdf",
        png=study_report(
            f"{MOT_RESULTS}/figures/{{figure}}.png", "motifs", "figure", "figures"
        ),
    log:
        f"{MOT_LOGS}/figures/{{figure}}.log",
    wildcard_constraints:
        figure="|".join(MOT_FIGURES),
    conda:
        "../../envs/motifs-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        max_display=MOT["figures"]["shap_max_display"],
        spread_factor=MOT["motif"]["spread_factor"],
    script:
        "../scripts/motifs/figure.py"


rule motifs_figure_interactive:
    input:
        atoms=rules.motifs_atoms.output.table,
    output:
        study_report(
            f"{MOT_RESULTS}/figures/structure_acv.html",
            "motifs",
            "interactive",
            "figures",
        ),
    log:
        f"{MOT_LOGS}/figures/structure_acv_html.log",
    conda:
        "../../envs/motifs-figures.yaml"
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        bond_cutoff=MOT["bond_cutoff"],
    script:
        "../scripts/motifs/interactive.py"

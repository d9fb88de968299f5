MOT = config["motifs"]
MOT_RESULTS = "results/motifs"
MOT_N = MOT["cutouts"][MOT["dataset"]]
MOT_SHARD_SIZE = MOT["shard_size"][MOT["dataset"]]
MOT_SHARDS = list(range(-(-MOT_N // MOT_SHARD_SIZE)))
MOT_FIT_RULE_DIR = "fits_srreal" if MOT["engine"] == "srreal" else "fits"
if MOT["input"]["structure"] or MOT["input"]["data"]:
    if not (MOT["input"]["structure"] and MOT["input"]["data"]):
        raise ValueError(
            "config.yaml: motifs.input needs both structure and data (or neither)"
        )
    MOT_STRUCTURE, MOT_DATA = MOT["input"]["structure"], MOT["input"]["data"]
elif MOT["dataset"] == "paper":
    MOT_STRUCTURE = downloaded(MOT["paper"]["structure"])
    MOT_DATA = downloaded(MOT["paper"]["data"])
else:
    MOT_STRUCTURE = f"{MOT_RESULTS}/demo/structure.xyz"
    MOT_DATA = f"{MOT_RESULTS}/demo/data.gr"
MOT_FIGURES = [
    "shap_summary",
    "acv_per_atom",
    "structure_acv",
    "rw_distribution",
    "motif_fit",
]
MOT_SHARED = {
    "seed": MOT["seed"],
    "removable": MOT["removable"],
    "bond_cutoff": MOT["bond_cutoff"],
}


wildcard_constraints:
    shard=r"\d+",


rule motifs:
    input:
        f"{MOT_RESULTS}/atoms.csv",
        f"{MOT_RESULTS}/structure_acv.xyz",
        f"{MOT_RESULTS}/structure_acv.cif",
        f"{MOT_RESULTS}/motif.xyz",
        f"{MOT_RESULTS}/motif.cif",
        f"{MOT_RESULTS}/motif_fit.json",
        f"{MOT_RESULTS}/model_metrics.json",
        f"{MOT_RESULTS}/provenance.yaml",
        expand(
            f"{MOT_RESULTS}/figures/{{name}}.{{ext}}",
            name=MOT_FIGURES,
            ext=["pdf", "png"],
        ),
        *(
            [f"{MOT_RESULTS}/demo/recovery.json"]
            if MOT_STRUCTURE.startswith(MOT_RESULTS)
            else []
        ),


rule motifs_demo:
    output:
        structure=f"{MOT_RESULTS}/demo/structure.xyz",
        data=f"{MOT_RESULTS}/demo/data.gr",
        planted=f"{MOT_RESULTS}/demo/planted.csv",
    log:
        "logs/motifs/demo.log",
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=MOT["seed"],
        demo=MOT["demo"],
        pdf=MOT["pdf"],
    script:
        "../scripts/motifs_demo.py"


rule motifs_catalogue:
    input:
        structure=MOT_STRUCTURE,
    output:
        f"{MOT_RESULTS}/catalogue.csv",
    log:
        "logs/motifs/catalogue.log",
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        **MOT_SHARED,
        cutouts=MOT_N,
    script:
        "../scripts/motifs_catalogue.py"


MOT_FIT_PARAMS = {
    "shard_size": MOT_SHARD_SIZE,
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
        "logs/motifs/fits/shard_{shard}.log",
    benchmark:
        "benchmarks/motifs/fits/shard_{shard}.tsv"
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=MOT["gpu"],
    params:
        **MOT_FIT_PARAMS,
        engine="srfit" if MOT["engine"] == "srfit" else "fast",
    script:
        "../scripts/motifs_fit.py"


rule motifs_fit_srreal:
    input:
        structure=MOT_STRUCTURE,
        data=MOT_DATA,
        catalogue=rules.motifs_catalogue.output[0],
    output:
        f"{MOT_RESULTS}/fits_srreal/shard_{{shard}}.csv",
    log:
        "logs/motifs/fits_srreal/shard_{shard}.log",
    benchmark:
        "benchmarks/motifs/fits_srreal/shard_{shard}.tsv"
    conda:
        "../../envs/motifs-srreal.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=600,
    params:
        **MOT_FIT_PARAMS,
        engine="srreal",
    script:
        "../scripts/motifs_fit.py"


rule motifs_gather:
    input:
        catalogue=rules.motifs_catalogue.output[0],
        shards=expand(
            f"{MOT_RESULTS}/{MOT_FIT_RULE_DIR}/shard_{{shard}}.csv", shard=MOT_SHARDS
        ),
    output:
        f"{MOT_RESULTS}/fits.csv",
    log:
        "logs/motifs/gather.log",
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/motifs_gather.py"


rule motifs_model:
    input:
        structure=MOT_STRUCTURE,
        catalogue=rules.motifs_catalogue.output[0],
        fits=rules.motifs_gather.output[0],
    output:
        model=f"{MOT_RESULTS}/model/xgboost.json",
        search=f"{MOT_RESULTS}/model/search.csv",
        metrics=f"{MOT_RESULTS}/model_metrics.json",
    log:
        "logs/motifs/model.log",
    benchmark:
        "benchmarks/motifs/model.tsv"
    conda:
        "../../envs/motifs-ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        seed=MOT["seed"],
        removable=MOT["removable"],
        model=MOT["model"],
        n_calls=MOT["model"]["n_calls"][MOT["dataset"]],
    script:
        "../scripts/motifs_model.py"


rule motifs_shap:
    input:
        structure=MOT_STRUCTURE,
        catalogue=rules.motifs_catalogue.output[0],
        model=rules.motifs_model.output.model,
    output:
        features=f"{MOT_RESULTS}/model/features.csv",
        shap=f"{MOT_RESULTS}/model/shap.csv",
    log:
        "logs/motifs/shap.log",
    conda:
        "../../envs/motifs-ml.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        removable=MOT["removable"],
    script:
        "../scripts/motifs_shap.py"


rule motifs_atoms:
    input:
        structure=MOT_STRUCTURE,
        catalogue=rules.motifs_catalogue.output[0],
        shap=rules.motifs_shap.output.shap,
    output:
        table=report(
            f"{MOT_RESULTS}/atoms.csv",
            caption="../report/motifs/atoms.rst",
            category="motifs",
            subcategory="tables",
        ),
        xyz=f"{MOT_RESULTS}/structure_acv.xyz",
        cif=f"{MOT_RESULTS}/structure_acv.cif",
        motif_xyz=f"{MOT_RESULTS}/motif.xyz",
        motif_cif=f"{MOT_RESULTS}/motif.cif",
    log:
        "logs/motifs/atoms.log",
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        removable=MOT["removable"],
        bond_cutoff=MOT["bond_cutoff"],
        spread_factor=MOT["motif"]["spread_factor"],
    script:
        "../scripts/motifs_atoms.py"


rule motifs_refine:
    input:
        structure=MOT_STRUCTURE,
        data=MOT_DATA,
        atoms=rules.motifs_atoms.output.table,
    output:
        result=f"{MOT_RESULTS}/motif_fit.json",
        profile=f"{MOT_RESULTS}/motif_fit.csv",
    log:
        "logs/motifs/refine.log",
    benchmark:
        "benchmarks/motifs/refine.tsv"
    conda:
        "../../envs/motifs-fit.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        pdf=MOT["pdf"],
        fit=MOT["fit"],
        refine_delta2=MOT["motif"]["refine_delta2"],
    script:
        "../scripts/motifs_refine.py"


rule motifs_recovery:
    input:
        planted=rules.motifs_demo.output.planted,
        atoms=rules.motifs_atoms.output.table,
    output:
        f"{MOT_RESULTS}/demo/recovery.json",
    log:
        "logs/motifs/recovery.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/motifs_recovery.py"


rule motifs_figure_shap:
    input:
        features=rules.motifs_shap.output.features,
        shap=rules.motifs_shap.output.shap,
    output:
        pdf=f"{MOT_RESULTS}/figures/shap_summary.pdf",
        png=report(
            f"{MOT_RESULTS}/figures/shap_summary.png",
            caption="../report/motifs/shap_summary.rst",
            category="motifs",
            subcategory="figures",
        ),
    log:
        "logs/motifs/figures/shap_summary.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="shap_summary",
        max_display=MOT["figures"]["shap_max_display"],
    script:
        "../scripts/motifs_plot.py"


rule motifs_figure_acv:
    input:
        atoms=rules.motifs_atoms.output.table,
    output:
        pdf=f"{MOT_RESULTS}/figures/acv_per_atom.pdf",
        png=report(
            f"{MOT_RESULTS}/figures/acv_per_atom.png",
            caption="../report/motifs/acv_per_atom.rst",
            category="motifs",
            subcategory="figures",
        ),
    log:
        "logs/motifs/figures/acv_per_atom.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="acv_per_atom",
        spread_factor=MOT["motif"]["spread_factor"],
    script:
        "../scripts/motifs_plot.py"


rule motifs_figure_structure:
    input:
        atoms=rules.motifs_atoms.output.table,
    output:
        pdf=f"{MOT_RESULTS}/figures/structure_acv.pdf",
        png=report(
            f"{MOT_RESULTS}/figures/structure_acv.png",
            caption="../report/motifs/structure_acv.rst",
            category="motifs",
            subcategory="figures",
        ),
    log:
        "logs/motifs/figures/structure_acv.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="structure_acv",
    script:
        "../scripts/motifs_plot.py"


rule motifs_figure_rw:
    input:
        fits=rules.motifs_gather.output[0],
        result=rules.motifs_refine.output.result,
    output:
        pdf=f"{MOT_RESULTS}/figures/rw_distribution.pdf",
        png=report(
            f"{MOT_RESULTS}/figures/rw_distribution.png",
            caption="../report/motifs/rw_distribution.rst",
            category="motifs",
            subcategory="figures",
        ),
    log:
        "logs/motifs/figures/rw_distribution.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="rw_distribution",
    script:
        "../scripts/motifs_plot.py"


rule motifs_figure_fit:
    input:
        profile=rules.motifs_refine.output.profile,
        result=rules.motifs_refine.output.result,
    output:
        pdf=f"{MOT_RESULTS}/figures/motif_fit.pdf",
        png=report(
            f"{MOT_RESULTS}/figures/motif_fit.png",
            caption="../report/motifs/motif_fit.rst",
            category="motifs",
            subcategory="figures",
        ),
    log:
        "logs/motifs/figures/motif_fit.log",
    conda:
        "../../envs/motifs-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        figure="motif_fit",
    script:
        "../scripts/motifs_plot.py"

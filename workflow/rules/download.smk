rule download:
    input:
        # A file tree's committed manifest (its copy is the output; the files land beside it).
        manifest=lambda wildcards: REMOTE_FILES[wildcards.remote].manifest or [],
    output:
        "resources/downloads/{remote}",
    log:
        "logs/download/{remote}.log",
    wildcard_constraints:
        remote="|".join(re.escape(name) for name in REMOTE_FILES),
    conda:
        "../../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    params:
        url=lambda wildcards: REMOTE_FILES[wildcards.remote].url,
        sha256=lambda wildcards: REMOTE_FILES[wildcards.remote].sha256,
        manifest=lambda wildcards: REMOTE_FILES[wildcards.remote].manifest,
    script:
        "../scripts/download.py"


rule provenance:
    input:
        envs=lambda wildcards: sorted(
            f"envs/{p.name}"
            for p in Path(workflow.basedir, "envs").glob(f"{wildcards.study}-*.yaml")
        ),
        user=lambda wildcards: user_files(wildcards.study),
    output:
        "results/{study}/{dataset}/provenance.yaml",
    log:
        "logs/{study}/{dataset}/provenance.log",
    wildcard_constraints:
        study="isotopes|motifs|xrd|gamma|particles",
    conda:
        "../../envs/provenance.yaml"
    params:
        user_input=lambda wildcards: (
            f"{wildcards.study}.{USER_INPUTS[wildcards.study]}"
            if wildcards.study in USER_INPUTS
            else None
        ),
        # The study's settings with the dataset's block in place of all blocks, and the download settings.
        config=lambda wildcards: {
            wildcards.study: {
                **{
                    k: v for k, v in config[wildcards.study].items() if k != "datasets"
                },
                "dataset": wildcards.dataset,
                "datasets": {
                    wildcards.dataset: dataset_block(wildcards.study, wildcards)
                },
            },
            "download": {k: v for k, v in config["download"].items() if k != "mirror"},
        },
    script:
        "../scripts/provenance.py"

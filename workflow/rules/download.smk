rule download:
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
    script:
        "../scripts/download.py"


rule provenance:
    output:
        "results/{study}/provenance.yaml",
    log:
        "logs/{study}/provenance.log",
    wildcard_constraints:
        study="isotopes|motifs|xrd|gamma|particles",
    conda:
        "../../envs/provenance.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        config=lambda wildcards: config[wildcards.study],
        download={k: v for k, v in config["download"].items() if k != "mirror"},
    script:
        "../scripts/provenance.py"

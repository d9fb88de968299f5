from fingerprintml.xrd.cod import count_urls, list_cifs, shard_items, shard_names
from fingerprintml.xrd.patterns import Grid

XRD = config["xrd"]
XRD_RESULTS = "results/xrd"
XRD_LIST = "xrd/COD-selection.txt"
XRD_PRESET = "paper" if XRD["dataset"] == "paper" else "demo"
XRD_GRID = XRD["grid"][XRD_PRESET]
XRD_SPLITS = ["copy"] + (
    ["structure"] if XRD["evaluation"]["structure_split_fraction"] > 0 else []
)
XRD_SIZE = XRD["shard_size"]
# The augmented training set is held in memory whole (float32 patterns on the grid): about 20 GB for the 8,172
# COD phases x 105 copies on the paper grid, a few MB for the demo; the jobs that hold it ask for that much.
XRD_PATTERN_MB = (
    Grid.from_config(XRD_GRID).size
    * 4
    * sum(XRD["training"][XRD_PRESET][k] for k in ("copies", "validation_copies"))
    / 1e6
)
xrd_augment_mem_mb = lambda wildcards, input: int(
    4000 + 1.25 * XRD_PATTERN_MB * (sum(1 for _ in open(input.phases)) - 1)
)
xrd_train_mem_mb = lambda wildcards, input: int(4000 + 2 * input.size_mb)


if XRD["cif_dir"]:
    XRD_SOURCE = "user"
    # The user's CIFs, listed at DAG time: a new or changed CIF reruns only its shard.
    XRD_USER_CIFS = list_cifs(XRD["cif_dir"])
    XRD_SHARDS = shard_names(len(XRD_USER_CIFS), XRD_SIZE)
elif XRD["dataset"] == "paper":
    XRD_SOURCE = "cod"
else:
    XRD_SOURCE = "demo"
    XRD_SHARDS = [f"{i:03d}" for i in range(XRD["demo"]["shards"])]

# Shard names: from the COD list once downloaded (a checkpoint), else fixed at DAG time.
xrd_shards = lambda wildcards: (
    shard_names(count_urls(checkpoints.xrd_cod_list.get().output[0]), XRD_SIZE)
    if XRD_SOURCE == "cod"
    else XRD_SHARDS
)
xrd_convert_input = lambda wildcards: (
    {"fetched": f"{XRD_RESULTS}/cod/fetch/{wildcards.shard}.csv"}
    if XRD_SOURCE == "cod"
    else (
        {"cifs": f"{XRD_RESULTS}/demo/cifs"}
        if XRD_SOURCE == "demo"
        else {"cifs": shard_items(XRD_USER_CIFS, wildcards.shard, XRD_SIZE)}
    )
)


XRD_FIGURES = ["learning_curves", "accuracy_vs_strength", "examples"]
XRD_QUERIES = XRD["query_dir"] or f"{XRD_RESULTS}/demo/queries"


wildcard_constraints:
    shard=r"\d+",
    split="copy|structure",


rule xrd:
    input:
        f"{XRD_RESULTS}/metrics.csv",
        f"{XRD_RESULTS}/identify.csv",
        f"{XRD_RESULTS}/provenance.yaml",
        expand(
            f"{XRD_RESULTS}/figures/{{name}}.{{ext}}",
            name=XRD_FIGURES,
            ext=["pdf", "png"],
        ),


checkpoint xrd_cod_list:
    input:
        downloaded(XRD_LIST),
    output:
        f"{XRD_RESULTS}/cod/urls.txt",
    log:
        "logs/xrd/cod_list.log",
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/xrd/cod_list.py"


rule xrd_fetch:
    input:
        rules.xrd_cod_list.output[0],
    output:
        f"{XRD_RESULTS}/cod/fetch/{{shard}}.csv",
    log:
        "logs/xrd/fetch/{shard}.log",
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=120,
    params:
        shard_size=XRD_SIZE,
        cif_root=f"{XRD_RESULTS}/cod/cifs",
        mirror=config["download"]["mirror"],
        retries=config["download"]["retries"],
        timeout=config["download"]["timeout"],
        delay=XRD["fetch"]["delay"],
        backoff=XRD["fetch"]["backoff"],
    script:
        "../scripts/xrd/fetch_cifs.py"


rule xrd_demo_library:
    output:
        directory(f"{XRD_RESULTS}/demo/cifs"),
    log:
        "logs/xrd/demo_library.log",
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        min_spacing=XRD["demo"]["min_spacing"],
    script:
        "../scripts/xrd/demo_library.py"


rule xrd_convert:
    input:
        unpack(xrd_convert_input),
    output:
        phases=f"{XRD_RESULTS}/cache/{{shard}}.csv",
        rejects=f"{XRD_RESULTS}/cache/{{shard}}.rejects.csv",
        cache=f"{XRD_RESULTS}/cache/{{shard}}.pkl",
    log:
        "logs/xrd/convert/{shard}.log",
    benchmark:
        "benchmarks/xrd/convert/{shard}.tsv"
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        source=XRD_SOURCE,
        shard=lambda wildcards: wildcards.shard,
        shard_size=XRD_SIZE,
        wavelength=XRD["wavelength"],
        two_theta_max=XRD_GRID["stop"],
    script:
        "../scripts/xrd/convert.py"


rule xrd_library:
    input:
        phases=lambda wildcards: expand(
            rules.xrd_convert.output.phases, shard=xrd_shards(wildcards)
        ),
        rejects=lambda wildcards: expand(
            rules.xrd_convert.output.rejects, shard=xrd_shards(wildcards)
        ),
        caches=lambda wildcards: expand(
            rules.xrd_convert.output.cache, shard=xrd_shards(wildcards)
        ),
    output:
        phases=report(
            f"{XRD_RESULTS}/library/phases.csv",
            caption="../report/xrd/phases.rst",
            category="xrd",
            subcategory="tables",
        ),
        rejects=report(
            f"{XRD_RESULTS}/library/rejects.csv",
            caption="../report/xrd/rejects.rst",
            category="xrd",
            subcategory="tables",
        ),
        caches=f"{XRD_RESULTS}/library/reflections.pkl",
    log:
        "logs/xrd/library.log",
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../scripts/xrd/library.py"


rule xrd_augment:
    input:
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
    output:
        f"{XRD_RESULTS}/data/{{split}}.npz",
    log:
        "logs/xrd/augment/{split}.log",
    benchmark:
        "benchmarks/xrd/augment/{split}.tsv"
    conda:
        "../../envs/xrd-data.yaml"
    threads: 2
    resources:
        mem_mb=xrd_augment_mem_mb,
        runtime=60,
    params:
        seed=XRD["seed"],
        grid=XRD_GRID,
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
        copies=XRD["training"][XRD_PRESET]["copies"],
        validation_copies=XRD["training"][XRD_PRESET]["validation_copies"],
        structure_fraction=XRD["evaluation"]["structure_split_fraction"],
    script:
        "../scripts/xrd/augment.py"


rule xrd_train:
    input:
        rules.xrd_augment.output[0],
    output:
        model=f"{XRD_RESULTS}/models/{{split}}.pt",
        history=f"{XRD_RESULTS}/models/{{split}}.history.csv",
    log:
        "logs/xrd/train/{split}.log",
    benchmark:
        "benchmarks/xrd/train/{split}.tsv"
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        mem_mb=xrd_train_mem_mb,
        runtime=600,
        gpu=XRD["gpu"],
    params:
        seed=XRD["seed"],
        device=XRD["device"],
        architecture=XRD["model"][XRD_PRESET],
        training={
            k: v
            for k, v in XRD["training"][XRD_PRESET].items()
            if k not in ("copies", "validation_copies")
        },
    script:
        "../scripts/xrd/train.py"


rule xrd_evaluate:
    input:
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
        model_copy=f"{XRD_RESULTS}/models/copy.pt",
        model_structure=(
            f"{XRD_RESULTS}/models/structure.pt" if "structure" in XRD_SPLITS else []
        ),
    output:
        metrics=report(
            f"{XRD_RESULTS}/metrics.csv",
            caption="../report/xrd/metrics.rst",
            category="xrd",
            subcategory="tables",
        ),
        strength=f"{XRD_RESULTS}/accuracy_vs_strength.csv",
        examples=f"{XRD_RESULTS}/examples.npz",
    log:
        "logs/xrd/evaluate.log",
    benchmark:
        "benchmarks/xrd/evaluate.tsv"
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=XRD["gpu"],
    params:
        seed=XRD["seed"],
        device=XRD["device"],
        grid=XRD_GRID,
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
        evaluation=XRD["evaluation"],
    script:
        "../scripts/xrd/evaluate.py"


rule xrd_learning_figure:
    input:
        expand(rules.xrd_train.output.history, split=XRD_SPLITS),
    output:
        pdf=f"{XRD_RESULTS}/figures/learning_curves.pdf",
        png=report(
            f"{XRD_RESULTS}/figures/learning_curves.png",
            caption="../report/xrd/learning_curves.rst",
            category="xrd",
            subcategory="figures",
        ),
    log:
        "logs/xrd/figures/learning_curves.log",
    conda:
        "../../envs/xrd-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        splits=XRD_SPLITS,
    script:
        "../scripts/xrd/plot_learning.py"


rule xrd_strength_figure:
    input:
        rules.xrd_evaluate.output.strength,
    output:
        pdf=f"{XRD_RESULTS}/figures/accuracy_vs_strength.pdf",
        png=report(
            f"{XRD_RESULTS}/figures/accuracy_vs_strength.png",
            caption="../report/xrd/accuracy_vs_strength.rst",
            category="xrd",
            subcategory="figures",
        ),
    log:
        "logs/xrd/figures/accuracy_vs_strength.log",
    conda:
        "../../envs/xrd-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/xrd/plot_strength.py"


rule xrd_examples_figure:
    input:
        examples=rules.xrd_evaluate.output.examples,
        phases=rules.xrd_library.output.phases,
    output:
        pdf=f"{XRD_RESULTS}/figures/examples.pdf",
        png=report(
            f"{XRD_RESULTS}/figures/examples.png",
            caption="../report/xrd/examples.rst",
            category="xrd",
            subcategory="figures",
        ),
    log:
        "logs/xrd/figures/examples.log",
    conda:
        "../../envs/xrd-figures.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../scripts/xrd/plot_examples.py"


rule xrd_demo_queries:
    input:
        caches=rules.xrd_library.output.caches,
    output:
        directory(f"{XRD_RESULTS}/demo/queries"),
    log:
        "logs/xrd/demo_queries.log",
    conda:
        "../../envs/xrd-data.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        seed=XRD["seed"],
        queries=XRD["demo"]["queries"],
        wavelength=XRD["wavelength"],
        augmentation=XRD["augmentation"],
    script:
        "../scripts/xrd/demo_queries.py"


rule xrd_identify:
    input:
        queries=XRD_QUERIES,
        phases=rules.xrd_library.output.phases,
        caches=rules.xrd_library.output.caches,
        model=f"{XRD_RESULTS}/models/copy.pt",
    output:
        table=report(
            f"{XRD_RESULTS}/identify.csv",
            caption="../report/xrd/identify.rst",
            category="xrd",
            subcategory="tables",
        ),
        rejects=f"{XRD_RESULTS}/identify_rejects.csv",
    log:
        "logs/xrd/identify.log",
    conda:
        "../../envs/xrd-ml.yaml"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=XRD["gpu"],
    params:
        device=XRD["device"],
        grid=XRD_GRID,
        wavelength=XRD["wavelength"],
        query_wavelength=XRD["identify"]["query_wavelength"],
        baseline=XRD["identify"]["baseline"],
        max_phases=XRD["identify"]["max_phases"],
        top_k=XRD["identify"]["top_k"],
        candidates=XRD["identify"]["candidates"],
        min_explained=XRD["identify"]["min_explained"],
        reference_fwhm=XRD["identify"]["reference_fwhm"],
        max_shift=XRD["identify"]["max_shift"],
    script:
        "../scripts/xrd/identify.py"

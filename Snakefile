from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


# First: it puts src/ on the search path and validates the config (workflow/schemas/config.schema.yaml).
include: "workflow/rules/common.smk"


report: "workflow/report/workflow.rst"


# --sdm apptainer: jobs run in this image, with each rule's conda env built inside it (--sdm apptainer conda).
container: "docker://condaforge/miniforge3:24.9.2-0"


include: "workflow/rules/download.smk"
include: "workflow/rules/isotopes.smk"
include: "workflow/rules/gamma.smk"
include: "workflow/rules/particles.smk"
include: "workflow/rules/motifs.smk"
include: "workflow/rules/xrd.smk"


localrules:
    all,
    isotopes,
    gamma,
    particles,
    motifs,
    xrd,


rule all:
    default_target: True
    input:
        rules.isotopes.input,
        rules.gamma.input,
        rules.particles.input,
        rules.motifs.input,
        rules.xrd.input,

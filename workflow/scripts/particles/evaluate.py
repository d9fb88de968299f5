import numpy as np
import pandas as pd
import torch

from fingerprintml.io import atomic_path, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.evaluate import confusion_table, per_class_metrics
from fingerprintml.particles.model import select_device
from fingerprintml.particles.train import Arrays, load_model, predict

with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    device = select_device(snakemake.params.device)
    model, bundle = load_model(snakemake.input.model, device)
    classes = bundle["classes"]
    data = np.load(snakemake.input.arrays)
    test = Arrays(data["test_images"], data["test_metadata"], data["test_labels"])
    probabilities, embeddings = predict(model, test, device, batch_size=256)
    predicted = probabilities.argmax(1)
    accuracy = float((predicted == test.labels).mean())
    log.info("%s: test accuracy %.4f on %d images", snakemake.wildcards.run, accuracy, len(test.labels))
    table = pd.DataFrame(
        {
            "path": data["test_paths"],
            "class": [classes[i] for i in test.labels],
            "prediction": [classes[i] for i in predicted],
            **{f"p_{c}": probabilities[:, i] for i, c in enumerate(classes)},
        }
    )
    write_table(table, snakemake.output.predictions)
    with atomic_path(snakemake.output.embeddings) as tmp, open(tmp, "wb") as fh:
        np.save(fh, embeddings.astype(np.float32))
    metrics = per_class_metrics(test.labels, predicted, classes).assign(run=snakemake.wildcards.run)
    write_table(metrics, snakemake.output.per_class)
    write_table(confusion_table(test.labels, predicted, classes), snakemake.output.confusion)

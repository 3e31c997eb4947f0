#!/usr/bin/env python3
"""Check that numpy reproduces keramic's predictions from a weights file that keramic saved.

Usage: python3 tests/interop/predict.py FOLDER

FOLDER contains `model.safetensors` and `predictions.json`, which
`KERAMIC_INTEROP_DIR=FOLDER cargo test --test io_interop` writes. The model is
`Interop` from tests/io_interop.rs, computed here with Keras's layouts:

    strength = embedding.embeddings[team]                              # [2]
    hidden = relu(concat(features, strength) @ hidden.kernel + hidden.bias)
    trunk = tanh(hidden @ trunk.kernel + trunk.bias)
    score = trunk @ score.kernel + score.bias
    class = softmax(trunk @ class.kernel + class.bias)

Needs the `numpy` and `safetensors` packages. Exits with 0 when every prediction
matches within TOLERANCE, 1 when one does not, and 2 on a usage error.
"""

import json
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

# The largest absolute difference accepted between numpy's prediction, computed in float64
# from the float32 weights, and keramic's, computed in float32.
TOLERANCE = 1e-6


def check_weights(weights, expected):
    """Return a list of problems with the tensor names, shapes and dtypes."""
    problems = []
    if set(weights) != set(expected):
        problems.append(f"tensor names differ: file has {sorted(weights)}, keramic lists {sorted(expected)}")
        return problems
    for name, shape in expected.items():
        tensor = weights[name]
        if tensor.shape != shape:
            problems.append(f"tensor `{name}` has shape {list(tensor.shape)}, expected {list(shape)}")
        if tensor.dtype != np.float32:
            problems.append(f"tensor `{name}` has dtype {tensor.dtype}, expected float32")
    return problems


def predict(weights, features, team):
    """Compute both outputs of the Interop model for a batch."""
    w = {name: tensor.astype(np.float64) for name, tensor in weights.items()}
    strength = w["embedding.embeddings"][team]
    hidden = np.maximum(np.concatenate([features, strength], axis=1) @ w["hidden.kernel"] + w["hidden.bias"], 0.0)
    trunk = np.tanh(hidden @ w["trunk.kernel"] + w["trunk.bias"])
    score = trunk @ w["score.kernel"] + w["score.bias"]
    logits = trunk @ w["class.kernel"] + w["class.bias"]
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities = exponentials / exponentials.sum(axis=1, keepdims=True)
    return {"score": score, "class": probabilities}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    weights = load_file(str(folder / "model.safetensors"))
    with open(folder / "predictions.json", encoding="utf-8") as file:
        saved = json.load(file)

    expected = {weight["name"]: tuple(weight["shape"]) for weight in saved["weights"]}
    problems = check_weights(weights, expected)
    if problems:
        for problem in problems:
            print(f"interop: {problem}", file=sys.stderr)
        return 1

    features = np.array(saved["inputs"]["features"], dtype=np.float64)
    team = np.array(saved["inputs"]["team"], dtype=np.int64)
    computed = predict(weights, features, team)

    failed = 0
    for output, values in computed.items():
        keramic = np.array(saved["outputs"][output], dtype=np.float64)
        difference = np.abs(values - keramic)
        worst = np.unravel_index(np.argmax(difference), difference.shape)
        print(
            f"interop: output `{output}`, {values.shape[0]} rows: largest difference "
            f"{difference[worst]:.3g} at row {worst[0]} (tolerance {TOLERANCE:g})"
        )
        if difference[worst] > TOLERANCE:
            print(
                f"interop: output `{output}` row {worst[0]}: numpy computes {values[worst]!r}, "
                f"keramic predicted {keramic[worst]!r}",
                file=sys.stderr,
            )
            failed += 1
    print(f"interop: {len(computed) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

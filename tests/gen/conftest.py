"""Fixtures for tests/gen: tiny random Wan pipelines saved to disk and a tiny CLIP model.

Torch is imported lazily so that tests which check the engine without the extra still run.
Every model is built from a config, saved with save_pretrained and loaded back through the real
loading code with HF_HUB_OFFLINE=1 (no network).
"""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TORCH_REASON = "torch not installed (extra 'gen')"


@pytest.fixture(autouse=True)
def _one_thread():
    """torch.set_num_threads(1) is faster than 2 on the 2-core CI machines."""
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Factory: layout name -> directory of a saved tiny pipeline of that layout (built once)."""
    pytest.importorskip("torch", reason=TORCH_REASON)
    from live.gen.tiny import save_tiny_pipeline

    root = tmp_path_factory.mktemp("tiny-wan")
    made: dict[str, object] = {}

    def get(layout: str):
        if layout not in made:
            made[layout] = save_tiny_pipeline(layout, root / layout, seed=0)
        return made[layout]

    return get


@pytest.fixture(scope="session")
def generator_for(tiny_model_dir):
    """Factory: layout name -> a WanGenerator loaded (once) from the saved tiny pipeline, on CPU."""
    from live.gen.pipelines.wan import load_generator
    from live.gen.settings import PipelineSettings

    loaded: dict[str, object] = {}

    def get(layout: str):
        if layout not in loaded:
            loaded[layout] = load_generator(tiny_model_dir(layout), PipelineSettings(device="cpu"))
        return loaded[layout]

    return get


def _byte_symbols() -> list[str]:
    """The 256 symbols byte-level BPE uses for bytes: printable Latin-1 as itself, the rest from U+0100 on."""
    printable = set(range(ord("!"), ord("~") + 1)) | set(range(ord("¡"), ord("¬") + 1)) | set(range(ord("®"), 256))
    symbols, extra = [], 0
    for byte in range(256):
        if byte in printable:
            symbols.append(chr(byte))
        else:
            symbols.append(chr(256 + extra))
            extra += 1
    # CLIP's vocabulary lists the printable bytes first, then the remapped ones.
    return [chr(b) for b in sorted(printable)] + [s for b, s in enumerate(symbols) if b not in printable]


def _clip_vocab_files(directory):
    """Write CLIP's BPE vocabulary (as shipped inside open-clip-torch) as vocab.json + merges.txt."""
    import gzip
    import importlib.util
    import json
    from pathlib import Path

    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("open-clip-torch (source of CLIP's BPE vocabulary) not installed")
    bpe = Path(list(spec.submodule_search_locations)[0]) / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.open(bpe, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    vocab = _byte_symbols()
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({tok: i for i, tok in enumerate(vocab)}), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n",
                                          encoding="utf-8")
    return len(vocab)


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory):
    """A tiny random transformers CLIPModel with the real CLIP tokenizer, saved to a directory."""
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    root = tmp_path_factory.mktemp("tiny-clip")
    vocab_size = _clip_vocab_files(root)
    tokenizer = CLIPTokenizer(str(root / "vocab.json"), str(root / "merges.txt"))
    tokenizer.save_pretrained(root)
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(root)
    return root

"""Style morphs: per-token slerp of text-encoder outputs between styles."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch not installed (extra 'gen')")

from live.gen.request import GenerationRequest  # noqa: E402
from live.gen.style import StyleMorph, mean_token_angle, morph_weights, slerp_tokens, token_angles  # noqa: E402


def embeddings(seed: int, tokens: int = 12, zero_from: int | None = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, tokens, 16, generator=g) * (1 + torch.rand(1, tokens, 1, generator=g))
    if zero_from is not None:
        x[:, zero_from:] = 0  # Wan zero-pads each prompt to the full sequence length
    return x


def test_endpoints_equal_the_styles_embeddings():
    a, b = embeddings(1), embeddings(2)
    morph = StyleMorph(["cyberpunk", "watercolor"], [a, b])
    assert torch.equal(morph.at(0.0), a) and torch.equal(morph.at(1.0), b)
    # Just inside the ends the general formula applies and stays continuous.
    torch.testing.assert_close(morph.at(1e-9), a, atol=1e-6, rtol=0)
    torch.testing.assert_close(morph.at(1 - 1e-9), b, atol=1e-6, rtol=0)


def test_angle_moves_monotonically_and_norm_interpolates():
    a, b = embeddings(3), embeddings(4)
    ts = np.linspace(0, 1, 11)
    to_a = [mean_token_angle(slerp_tokens(a, b, t), a) for t in ts]
    to_b = [mean_token_angle(slerp_tokens(a, b, t), b) for t in ts]
    assert all(y > x for x, y in zip(to_a, to_a[1:]))
    assert all(y < x for x, y in zip(to_b, to_b[1:]))
    # Per token, slerp moves the direction at constant angular speed along the great circle.
    total = token_angles(a, b)
    half = token_angles(slerp_tokens(a, b, 0.5), a)
    torch.testing.assert_close(half, total / 2, atol=1e-9, rtol=1e-6)
    mid_norm = slerp_tokens(a, b, 0.25).norm(dim=-1)
    torch.testing.assert_close(mid_norm, 0.75 * a.norm(dim=-1) + 0.25 * b.norm(dim=-1), atol=1e-5, rtol=1e-5)


def test_padding_tokens_fade_in_along_the_other_styles_direction():
    a, b = embeddings(5, zero_from=6), embeddings(6, zero_from=9)
    mid = slerp_tokens(a, b, 0.5)
    assert torch.count_nonzero(mid[:, 9:]) == 0  # padding in both stays zero
    torch.testing.assert_close(mid[:, 6:9], 0.5 * b[:, 6:9], atol=1e-6, rtol=1e-6)  # only b there: half its norm


def test_three_styles_walk_the_chain():
    embs = [embeddings(i) for i in (7, 8, 9)]
    morph = StyleMorph(["a", "b", "c"], embs)
    assert torch.equal(morph.at(0.5), embs[1])
    assert morph_weights(0.25, 3) == [0.5, 0.5, 0.0]
    assert morph.weights(0.75) == [("a", 0.0), ("b", 0.5), ("c", 0.5)]
    with pytest.raises(ValueError, match="shape"):
        StyleMorph(["a", "b"], [embs[0], embeddings(1, tokens=5)])


def test_generator_morph_acts_on_what_the_pipeline_consumes(generator_for):
    generator = generator_for("wan2.1-t2v")
    base = dict(prompt="a street", frames=9, width=32, height=32, steps=3, seed=2)
    styled = GenerationRequest(**base, styles=("cyberpunk neon", "soft watercolor"), morph=0.0)
    morph = generator.style_morph(styled)
    direct = generator.encode_text(["a street, cyberpunk neon", "a street, soft watercolor"])
    torch.testing.assert_close(morph.embeddings[0], direct[0:1])
    # morph 0 renders exactly the first style prompt; morph 1 the second
    np.testing.assert_allclose(generator.generate(styled).frames,
                               generator.generate(GenerationRequest(**{**base, "prompt": "a street, cyberpunk neon"})).frames,
                               atol=1e-6)
    mid = generator.generate(GenerationRequest(**base, styles=styled.styles, morph=0.5))
    assert mid.styles == [("cyberpunk neon", 0.5), ("soft watercolor", 0.5)]

"""The character-level model: it learns, it is reproducible, and it saves and loads."""

import numpy as np
import pytest

from models import char_rnn
from models.char_rnn import CharModel


@pytest.fixture(scope="module")
def corpus():
    return char_rnn.default_corpus()


def test_default_corpus_is_the_project_itself(corpus):
    assert "def backward(" in corpus and "BPTT" in corpus
    assert len(corpus) > 20_000


def test_300_steps_bring_the_loss_clearly_down(corpus):
    model = CharModel("".join(sorted(set(corpus))), "rnn", hidden=64, seed=0)
    losses = char_rnn.train(model, corpus, steps=300)
    start, end = np.mean(losses[:50]), np.mean(losses[-50:])
    assert abs(losses[0] - np.log(len(model.vocab))) < 0.5  # uniform guess at first
    assert end < start - 0.6, (start, end)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_a_fixed_seed_gives_the_same_loss_curve(corpus, kind):
    vocab = "".join(sorted(set(corpus)))
    curves = [char_rnn.train(CharModel(vocab, kind, hidden=16, seed=3), corpus, steps=15)
              for _ in range(2)]
    assert curves[0] == curves[1]
    other = char_rnn.train(CharModel(vocab, kind, hidden=16, seed=4), corpus, steps=15)
    assert other != curves[0]


def test_save_then_load_gives_the_same_samples(tmp_path, corpus):
    model = CharModel("".join(sorted(set(corpus))), "lstm", hidden=16, seed=1)
    char_rnn.train(model, corpus, steps=10)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = CharModel.load(path)
    assert loaded.kind == "lstm" and loaded.vocab == model.vocab
    for name, p in model.core.named_parameters():
        np.testing.assert_array_equal(dict(loaded.core.named_parameters())[name].data, p.data)
    assert loaded.sample(80, 0.8, seed=5) == model.sample(80, 0.8, seed=5)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_sampling_is_seeded_and_temperature_matters(corpus):
    model = CharModel("".join(sorted(set(corpus))), "gru", hidden=16, seed=2)
    assert model.sample(50, 1.0, seed=7) == model.sample(50, 1.0, seed=7)
    assert model.sample(50, 1.0, seed=7) != model.sample(50, 1.0, seed=8)
    assert len(model.sample(50, 0.5, seed=7)) == 50
    with pytest.raises(ValueError, match="temperature"):
        model.sample(5, 0.0)


def test_bad_text_gives_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        char_rnn.read_text(tmp_path / "missing.txt")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty"):
        char_rnn.read_text(empty)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        CharModel("ab").encode("abc")

"""Networks (pysim.nn), data loading (pysim.data) and scenario transforms."""

import gzip
import struct

import numpy as np
import pytest

from pysim.data import Dataset, load_digits, load_mnist, read_idx, resize, split
from pysim.experiments.scenarios import transform
from pysim.network import build, softmax_xent
from pysim.nn import Quant, col2im, im2col


@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_weight_gradients_match_finite_differences(arch):
    rng = np.random.default_rng(0)
    net = build(arch, rng, Quant(enabled=False))
    net.set_tracking(False)
    img, label = rng.random((1, 8, 8)), np.array([4])  # one job
    net.step(img, label)
    for layer in net.affine:
        dY, X = layer.terms
        grad = dY[0].T @ X[0]
        n_out, n_in = layer.shape
        for i, j in ((0, 0), (1, 2), (n_out - 1, n_in - 1)):
            w0 = layer.store.w[0, i, j]
            layer.store.w[0, i, j] = w0 + 1e-5
            lp = softmax_xent(net.forward(img), label)[0][0]
            layer.store.w[0, i, j] = w0 - 1e-5
            lm = softmax_xent(net.forward(img), label)[0][0]
            layer.store.w[0, i, j] = w0
            assert grad[i, j] == pytest.approx((lp - lm) / 2e-5, rel=1e-4, abs=1e-8)


@pytest.mark.parametrize("shape", [(1, 8, 8, 1), (2, 6, 6, 8), (3, 5, 7, 3)])
def test_col2im_is_the_adjoint_of_im2col(shape):
    # <im2col(x), C> == <x, col2im(C)>: the input gradient of a convolution (per job).
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape)
    cols = im2col(x, 3)
    c = rng.normal(size=cols.shape)
    assert np.sum(cols * c) == pytest.approx(np.sum(x * col2im(c, shape, 3)), rel=1e-12)


def test_conv_gives_one_term_per_output_pixel():
    net = build("cnn", np.random.default_rng(1), Quant())
    net.step(np.random.default_rng(2).random((1, 8, 8)), np.array([1]))
    conv1, conv2, dense = net.affine
    assert conv1.terms[0].shape == (1, 36, 8) and conv1.terms[1].shape == (1, 36, 9)
    assert conv2.terms[0].shape == (1, 16, 16) and conv2.terms[1].shape == (1, 16, 72)
    assert dense.terms[0].shape == (1, 1, 10)


def test_quantised_activations_are_int8_codes():
    q = Quant()
    a = q.act(np.array([0.0, 0.01, 1.0, 5.0]))
    codes = a / q.act_step
    np.testing.assert_array_equal(codes, np.rint(codes))
    assert codes.max() == 127
    g = q.grad(np.array([-3.0, 0.3]))
    assert g[0] == -1.0


def write_idx(path, array, dtype_code=0x08):
    header = struct.pack(">BBBB", 0, 0, dtype_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(">u1" if dtype_code == 0x08 else ">i4").tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + body)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_mnist_idx_reader(tmp_path, suffix):
    rng = np.random.default_rng(3)
    imgs = rng.integers(0, 256, (7, 5, 4))
    labels = rng.integers(0, 10, 7)
    write_idx(tmp_path / f"img{suffix}", imgs)
    write_idx(tmp_path / f"lab{suffix}", labels)
    ds = load_mnist(tmp_path / f"img{suffix}", tmp_path / f"lab{suffix}")
    np.testing.assert_allclose(ds.images, imgs / 255.0)
    np.testing.assert_array_equal(ds.labels, labels)
    write_idx(tmp_path / "int32", np.arange(6).reshape(2, 3), 0x0C)
    np.testing.assert_array_equal(read_idx(tmp_path / "int32"), np.arange(6).reshape(2, 3))


def test_idx_reader_rejects_bad_files(tmp_path):
    p = tmp_path / "bad"
    p.write_bytes(b"\x01\x02\x08\x01")
    with pytest.raises(ValueError, match="bad magic"):
        read_idx(p)
    write_idx(p, np.zeros((3, 2)))
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(ValueError, match="body has 5 bytes"):
        read_idx(p)
    with pytest.raises(ValueError, match="cannot read"):
        read_idx(tmp_path / "missing")
    write_idx(tmp_path / "a", np.zeros((3, 2, 2)))
    write_idx(tmp_path / "b", np.zeros(4))
    with pytest.raises(ValueError, match="disagree"):
        load_mnist(tmp_path / "a", tmp_path / "b")


def test_digits_and_split_are_seeded():
    ds = load_digits()
    assert ds.images.shape == (1797, 8, 8) and 0 <= ds.images.min() < ds.images.max() <= 1
    a = split(ds, 600, 300, np.random.default_rng(5))
    b = split(ds, 600, 300, np.random.default_rng(5))
    np.testing.assert_array_equal(a.online.labels, b.online.labels)
    assert len(a.train) + len(a.online) + len(a.test) == 1797
    with pytest.raises(ValueError, match="cannot split"):
        split(ds, 1500, 297, np.random.default_rng(0))


def test_transforms_stay_in_range_and_change_the_image():
    img = load_digits().images[0]
    rng = np.random.default_rng(6)
    for seg in ({"rotate": 30}, {"scale": 1.3}, {"shift": [1, -1]},
                {"gradient": 0.5, "contrast": 0.6}, {"noise": 0.2}):
        out = transform(img, seg, rng)
        assert out.shape == img.shape and out.min() >= 0 and out.max() <= 1
        assert not np.allclose(out, img)
    np.testing.assert_array_equal(transform(img, {}, rng), img)


def test_resize_resamples_digits_to_28_in_range_and_deterministically():
    ds = load_digits()
    big = resize(ds, 28)
    assert big.images.shape == (1797, 28, 28) and big.name == "digits"
    assert big.images.min() >= 0 and big.images.max() <= 1 and big.images.max() > 0.9
    np.testing.assert_array_equal(big.labels, ds.labels)
    np.testing.assert_array_equal(resize(ds, 28).images, big.images)
    # Bilinear with corners aligned: the corner pixels are the 8×8 image's corners.
    np.testing.assert_allclose(big.images[:, [0, -1]][:, :, [0, -1]],
                               ds.images[:, [0, -1]][:, :, [0, -1]])
    assert resize(ds, 8) is ds  # already that size: unchanged
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            resize(Dataset(ds.images[:2], ds.labels[:2]), bad)


def test_image_size_sets_the_networks_shapes_and_the_default_is_unchanged():
    from pysim.config import ConfigError
    from pysim.experiments.pretrain import load_splits
    from pysim.experiments.schema import (
        DataCfg,
        ExperimentCfg,
        experiment_from_mapping,
        layer_shapes,
    )

    raw = {"name": "t", "network": "cnn", "data": {"n_train": 300, "n_test": 100},
           "methods": [{"name": "lrt", "rule": "lrt", "lr": [0.01], "rank": 8}]}
    base = experiment_from_mapping(raw)
    assert base.data.image_size is None and base.data.image_shape == (8, 8)
    # No image_size: job ids and pretrain keys hash the same fields as before it existed.
    assert base.data.key() == {"dataset": "digits", "mnist_images": "", "mnist_labels": "",
                               "n_train": 300, "n_test": 100}
    np.testing.assert_array_equal(load_splits(base, 3).online.images,
                                  split(load_digits(), 300, 100,
                                        np.random.default_rng([3, 0])).online.images)
    big = experiment_from_mapping(raw | {"data": raw["data"] | {"image_size": 28}})
    assert big.data.image_shape == (28, 28) and big.data.key()["image_size"] == 28
    assert load_splits(big, 3).train.images.shape == (300, 28, 28)
    # The config check's shapes are the resized network's (dense 2304 = 12·12·16 inputs).
    assert layer_shapes("cnn", big.data.image_shape) == [(8, 9), (16, 72), (10, 2304)]
    with pytest.raises(ConfigError, match="rank"):
        experiment_from_mapping(raw | {"data": raw["data"] | {"image_size": 28}, "methods": [
            {"name": "lrt", "rule": "lrt", "lr": [0.01], "rank": 9}]})
    with pytest.raises(ConfigError, match=r"data.image_size = 7: .*e.g. 28"):
        experiment_from_mapping(raw | {"data": raw["data"] | {"image_size": 7}})
    assert DataCfg().image_shape == (8, 8)
    assert isinstance(base, ExperimentCfg) and base.extended is False

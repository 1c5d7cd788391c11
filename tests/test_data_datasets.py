"""engine.datasets: the generated 2-D sets and load_csv with its one-line errors."""
import numpy as np
import pytest

from engine import datasets

CLASSIFICATION = ["xor", "blobs", "moons", "circles", "spirals"]


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_sets_have_points_labels_and_every_class(name):
    X, y = getattr(datasets, f"{name}_arrays")(n_samples=120, noise=0.1, seed=3)
    assert X.shape == (120, 2) and X.dtype == np.float32
    assert y.shape == (120,) and y.dtype == np.int64
    classes = 3 if name == "spirals" else 2
    assert set(np.unique(y)) == set(range(classes))
    assert np.all(np.isfinite(X))


@pytest.mark.parametrize("name", CLASSIFICATION + ["line"])
def test_same_seed_same_data_other_seed_other_data(name):
    make = getattr(datasets, f"{name}_arrays")
    a, b, c = make(n_samples=50, seed=1), make(n_samples=50, seed=1), make(n_samples=50, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_generators_return_engine_tensors_through_the_catalog_signature():
    import engine
    for name, make in datasets.GENERATORS.items():
        X, y = make(n_samples=40, noise=0.1, seed=0)
        assert isinstance(X, engine.Tensor) and isinstance(y, engine.Tensor)
        assert X.shape[0] == y.shape[0] == 40
        assert X.dtype == engine.float32


def test_xor_labels_follow_the_corners():
    X, y = datasets.xor_arrays(n_samples=400, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0].round().astype(int) ^ X[:, 1].round().astype(int)))


def test_line_is_close_to_its_slope_and_intercept():
    x, y = datasets.line_arrays(n_samples=500, noise=0.5, slope=2.0, intercept=5.0, seed=0)
    slope, intercept = np.polyfit(x[:, 0], y[:, 0], 1)
    assert abs(slope - 2.0) < 0.05 and abs(intercept - 5.0) < 0.2


def test_circles_radii():
    X, y = datasets.circles_arrays(n_samples=200, noise=0.0, factor=0.4, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0, rtol=1e-5)
    np.testing.assert_allclose(r[y == 1], 0.4, rtol=1e-5)


def test_bad_arguments_are_refused_with_a_message():
    with pytest.raises(ValueError, match="n_samples"):
        datasets.moons(n_samples=0)
    with pytest.raises(ValueError, match="factor"):
        datasets.circles(factor=1.5)


# ---------------------------------------------------------------------------- load_csv
def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_csv_with_header_and_named_target(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n5,6,1\n")
    X, y = datasets.load_csv(path, target="y")
    np.testing.assert_array_equal(X.numpy(), [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(y.numpy(), [0, 1, 1])
    assert X.numpy().dtype == np.float32


def test_load_csv_without_header_target_by_index_and_blank_lines(tmp_path):
    path = write(tmp_path, "7,1,2\n\n8,3,4\n")
    X, y = datasets.load_csv(path, target=0)
    np.testing.assert_array_equal(X.numpy(), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(y.numpy(), [7, 8])


def test_load_csv_target_as_a_string_of_digits_is_an_index(tmp_path):
    X, y = datasets.load_csv(write(tmp_path, "7,1,2\n8,3,4\n"), target="0")
    np.testing.assert_array_equal(y.numpy(), [7, 8])


def test_load_csv_target_none_returns_every_column(tmp_path):
    X = datasets.load_csv(write(tmp_path, "1,2\n3,4\n"), target=None)
    assert tuple(X.shape) == (2, 2)


@pytest.mark.parametrize("text, target, message", [
    ("", -1, "data.csv: the file is empty"),
    ("a,b\n", -1, "no data rows after the header"),
    ("a,b,y\n1,2,3\n4,5\n", "y", "data.csv line 3: 2 fields, expected 3"),
    ("a,b,y\n1,2,3\n4,x,6\n", "y", "data.csv line 3 column 2: 'x' is not a number"),
    ("a,b,y\n1,2,3\n", "label", "no column named 'label' \\(columns: a, b, y\\)"),
    ("1,2,3\n", "y", "has no header row"),
    ("1,2,3\n", 5, "target column 5 out of range for 3 columns"),
    ("a,b\n1,nan\n", -1, "line 2: contains nan or inf"),
    ("y\n1\n", "y", "only one column"),
])
def test_load_csv_malformed_files_raise_one_line_errors(tmp_path, text, target, message):
    with pytest.raises(datasets.DatasetError, match=message) as info:
        datasets.load_csv(write(tmp_path, text), target=target)
    assert "\n" not in str(info.value)


def test_load_csv_missing_file_and_binary_file(tmp_path):
    with pytest.raises(datasets.DatasetError, match="no such file"):
        datasets.load_csv(tmp_path / "missing.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(datasets.DatasetError, match="not a text file"):
        datasets.load_csv(binary)

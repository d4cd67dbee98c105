"""The streaming PNG codec agrees with Pillow, and foreign files go through Pillow's checks."""

import numpy as np
import pytest
from PIL import Image

from exquisite.shared_core.errors import InputError
from exquisite.shared_core.pngio import decode_image_bytes, png_bytes, read_image, read_png_into, write_png


@pytest.mark.parametrize("shape", [(37, 53, 3), (5, 7), (1, 1, 3), (300, 4000, 3)])
def test_written_png_reads_back_identically_in_pillow_and_ours(tmp_path, shape):
    image = np.random.default_rng(3).integers(0, 255, shape, dtype=np.uint8)
    path = write_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(np.asarray(Image.open(path)), image)
    np.testing.assert_array_equal(read_png_into(path), image)


def test_strided_and_turned_views(tmp_path):
    base = np.random.default_rng(4).integers(0, 255, (40, 90, 3), dtype=np.uint8)
    view = np.rot90(base[:, 10:70], 1)
    path = write_png(tmp_path / "v.png", view)
    expected = np.array(view)
    np.testing.assert_array_equal(read_png_into(path), expected)
    out = np.zeros((90, 40, 3), np.uint8)
    read_png_into(path, out[10:70])  # straight into a view of a larger buffer
    np.testing.assert_array_equal(out[10:70], expected)


def test_foreign_pngs_with_other_filters_are_refused_clearly(tmp_path):
    image = np.random.default_rng(5).integers(0, 255, (20, 20, 3), dtype=np.uint8)
    path = tmp_path / "pillow.png"
    Image.fromarray(image).save(path)  # Pillow picks Paeth/Average for noise
    try:
        np.testing.assert_array_equal(read_png_into(path), image)
    except InputError as error:
        assert "not a session file" in str(error)
    np.testing.assert_array_equal(read_image(path), image)


def test_truncated_files_are_refused(tmp_path):
    data = png_bytes(np.zeros((50, 50, 3), np.uint8))
    (tmp_path / "t.png").write_bytes(data[:-30])
    with pytest.raises(InputError, match="truncated"):
        read_png_into(tmp_path / "t.png")
    with pytest.raises(InputError, match="not a readable image"):
        decode_image_bytes(data[:40], "tile")


def test_read_image_converts_modes_and_applies_exif_orientation(tmp_path):
    rgba = Image.new("RGBA", (4, 2), (10, 20, 30, 0))
    rgba.save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png").shape == (2, 4, 3)
    im = Image.new("RGB", (4, 2), (200, 0, 0))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 on display
    im.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (4, 2, 3)
    with pytest.raises(InputError, match="no image file"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="cannot read"):
        read_image(tmp_path / "bad.png")


def test_bytes_that_are_no_image_get_one_line_without_a_python_object():
    from exquisite.shared_core.errors import InputError
    from exquisite.shared_core.pngio import decode_image_bytes

    with pytest.raises(InputError) as refused:
        decode_image_bytes(b"hello", "base64 image")
    message = str(refused.value)
    assert message.startswith("the base64 image is not a readable image") and "PNG, JPEG" in message
    assert " at 0x" not in message and "BytesIO" not in message and "\n" not in message

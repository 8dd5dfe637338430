from tests.photos.conftest import image_bytes  # noqa: F401 - shared fixture

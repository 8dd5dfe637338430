from tests.browser.conftest import browser, live_server, screenshot  # noqa: F401 - shared fixtures
from tests.photos.conftest import image_bytes  # noqa: F401 - shared fixture

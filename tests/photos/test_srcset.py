"""Sharp pictures on every screen: srcset names each stored width, and sizes says how wide
the picture is drawn, so a 2x or 3x phone picks a large enough file."""

from __future__ import annotations

import re

from tests.helpers import post_id_from, upload


def attribute(tag: str, name: str) -> str:
    return re.search(rf'\b{name}="([^"]*)"', tag).group(1)


async def test_cards_offer_every_width_and_grids_a_2x_thumbnail(site, image_bytes):
    owner = await site.user_client("sharp")
    post_id = post_id_from(await upload(owner, [("wide.jpg", image_bytes("panorama.jpg"))]))
    page = (await owner.get(f"/p/{post_id}")).text
    img = re.search(r'<img class="photo-img"[^>]*>', page).group(0)
    widths = [int(w) for w in re.findall(r" (\d+)w", attribute(img, "srcset"))]
    assert widths == [640, 1080, 2048]  # every stored display size, no square crop
    # The photo page draws it beside the comments from 1000 px; a feed card at 614 px.
    assert attribute(img, "sizes") == (
        "(min-width: 1000px) 566px, "
        "(max-width: 646px) calc(100vw - 2rem), 614px"
    )
    home = (await owner.get("/")).text
    card_img = re.search(r'<img class="photo-img"[^>]*>', home).group(0)
    assert attribute(card_img, "sizes") == "(max-width: 646px) calc(100vw - 2rem), 614px"
    assert [int(w) for w in re.findall(r" (\d+)w", attribute(card_img, "srcset"))] == [640, 1080, 2048]
    webp = re.search(r'<source type="image/webp" srcset="([^"]+)"', page).group(1)
    assert [int(w) for w in re.findall(r" (\d+)w", webp)] == [640, 1080, 2048]

    grid = (await owner.get("/@sharp")).text
    cell = re.search(r'<a class="grid-item".*?</a>', grid, re.S).group(0)
    thumb = re.search(r"<img [^>]*>", cell).group(0)
    assert [int(w) for w in re.findall(r" (\d+)w", attribute(thumb, "srcset"))] == [320, 640]
    assert attribute(thumb, "sizes") == "(max-width: 935px) 33vw, 293px"
    source = re.search(r'<source type="image/webp" srcset="([^"]+)"', cell).group(1)
    assert source.count("w,") == 1 and source.endswith("640w")

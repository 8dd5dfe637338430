"""What seeded accounts look like and how they connect: generated photos, names, captions with
hashtags and mentions, and a follow graph with a few stars and a long tail.

The photos are a small pool (about thirty) drawn with Pillow and put through the real upload
pipeline once; every seeded post reuses their stored renditions, so seeding 300,000 posts
processes thirty images and stores thirty sets of files (storage is content-addressed).
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from tornagram.photos.imaging import process_photo

IMAGE_POOL_SIZE = 30
# Portrait, square and landscape, as people post them.
SHAPES_PX = ((720, 900), (800, 800), (960, 640), (955, 500), (640, 800))

FIRST_NAMES = (
    "mei lin wei jun hana yuki sora ren kai aiko lucas emma noah olivia liam ava mia leo "
    "zoe omar amir sara ines nina ivan olga lars anna marco giulia pablo lucia chen ming "
    "tao jia kofi amara diego sofia yara nadia felix clara hugo elsa theo rosa"
).split()
WORDS = (
    "morning light on the water today quiet street walk with friends coffee first snow "
    "weekend market golden hour rooftop view old town little things city lights after rain "
    "trying a new lens back home finally summer road trip sunday slow days"
).split()
CHINESE_PHRASES = ("今天的天空", "周末快乐", "好久不见", "散步", "一杯咖啡", "晚霞")
# A few tags are everywhere and most are rare: weights fall off like 1/rank.
TAGS = (
    "photography sunset travel nofilter 猫 food nature streetphotography 旅行 city "
    "portrait coffee café beach mountains film bnw architecture dog flowers night 夜景 "
    "autumn winter summer spring rain 美食 friends weekend art minimal"
).split()


@dataclass(frozen=True, slots=True)
class PoolRendition:
    name: str
    fmt: str
    key: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class PoolImage:
    width: int
    height: int
    blurhash: str
    dominant_color: str
    source_format: str
    renditions: tuple[PoolRendition, ...]


def draw_image(rng: random.Random, index: int) -> bytes:
    """A gradient with a few shapes: distinct colours, so blurhashes and thumbnails differ."""
    width, height = SHAPES_PX[index % len(SHAPES_PX)]
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(height - 1, 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(rng.randrange(2, 7)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(40, max(width, height) // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        box = [x0, y0, x0 + size, y0 + size]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def build_image_pool(storage, rng: random.Random, size: int = IMAGE_POOL_SIZE):
    pool = []
    for index in range(size):
        processed = process_photo(draw_image(rng, index))
        renditions = []
        for rendition in processed.renditions:
            key = await storage.put(
                rendition.data, ext=rendition.ext, content_type=rendition.content_type
            )
            renditions.append(
                PoolRendition(rendition.name, rendition.fmt, key, rendition.width, rendition.height)
            )
        pool.append(
            PoolImage(
                processed.width,
                processed.height,
                processed.blurhash,
                processed.dominant_color,
                processed.source_format,
                tuple(renditions),
            )
        )
    return pool


def username(rng: random.Random, index: int) -> str:
    return f"{rng.choice(FIRST_NAMES)}_{index}"


def display_name(rng: random.Random, name: str) -> str:
    first = name.split("_", 1)[0].capitalize()
    return first if rng.random() < 0.5 else f"{first} {rng.choice(FIRST_NAMES).capitalize()}"


def bio(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return ""
    return " ".join(rng.choices(WORDS, k=rng.randrange(3, 10))).capitalize()


class CaptionMaker:
    def __init__(self, rng: random.Random, usernames: list[str], mention_weights) -> None:
        self.rng = rng
        self.usernames = usernames
        self.mention_cum = _cumulative(mention_weights)
        self.tag_cum = _cumulative([1 / (rank + 1) for rank in range(len(TAGS))])

    def caption(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return ""
        words = rng.choices(WORDS, k=rng.randrange(2, 12))
        if rng.random() < 0.2:
            words.append(rng.choice(CHINESE_PHRASES))
        text = " ".join(words).capitalize()
        if roll < 0.7:
            tags = rng.choices(TAGS, cum_weights=self.tag_cum, k=rng.randrange(1, 6))
            text += " " + " ".join("#" + tag for tag in dict.fromkeys(tags))
        if rng.random() < 0.2:
            person = rng.choices(self.usernames, cum_weights=self.mention_cum)[0]
            text += f" with @{person}"
        return text


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def follow_graph(rng: random.Random, n: int, mean: int) -> list[list[int]]:
    """following[u]: whom user u follows. Who gets followed is Zipf (weight 1/rank); how many
    each follows is log-normal with the given mean (a few follow thousands)."""
    by_rank = list(range(n))
    rng.shuffle(by_rank)
    cum, total = [], 0.0
    for rank in range(n):
        total += 1 / (rank + 1)
        cum.append(total)
    sigma = 0.8
    mu = math.log(max(mean, 1)) - sigma * sigma / 2
    following = []
    for u in range(n):
        k = 0 if mean <= 0 else min(n - 1, max(1, round(rng.lognormvariate(mu, sigma))))
        chosen: set[int] = set()
        for _ in range(8):
            if len(chosen) >= k:
                break
            chosen.update(rng.choices(by_rank, cum_weights=cum, k=2 * (k - len(chosen)) + 8))
            chosen.discard(u)
        while len(chosen) < k:  # the long tail, uniformly
            pick = rng.randrange(n)
            if pick != u:
                chosen.add(pick)
        following.append(rng.sample(sorted(chosen), k))
    return following

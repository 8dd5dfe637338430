"""AppContext: everything a handler or service needs, made once per process and injected."""

from __future__ import annotations

from dataclasses import dataclass, field

from tornagram.accounts.avatars import AvatarStore
from tornagram.accounts.passwords import PasswordHasher
from tornagram.accounts.service import AccountsService
from tornagram.cache import FragmentCache, make_changes
from tornagram.config import Settings
from tornagram.db.engine import Database
from tornagram.db.ids import IdGenerator
from tornagram.feeds.cache import Grids, HomeFeed, PostPages
from tornagram.graph.service import GraphService
from tornagram.interactions.service import InteractionsService
from tornagram.notifications.service import NotificationsService
from tornagram.notifications.writer import NotificationWriter
from tornagram.photos.fairness import PixelBudget
from tornagram.photos.remote import FetchPolicy
from tornagram.photos.service import PhotosService
from tornagram.photos.workers import ImageWorkers
from tornagram.ratelimit import DEFAULT_RATES, RateLimiter
from tornagram.realtime import Hub, make_broker
from tornagram.realtime.access import authorize_subscribe
from tornagram.realtime.broker import Broker
from tornagram.realtime.control import LiveControl
from tornagram.realtime.presence import Presence
from tornagram.realtime.publish import EventPublisher
from tornagram.rooms.service import RoomsService
from tornagram.search.service import SearchService
from tornagram.storage.base import MediaStorage
from tornagram.storage.local import LocalStorage

# About 6 KB each.
FRAGMENT_ENTRIES = 3_000
# About 70 KB each (a home page of twelve cards).
PAGE_ENTRIES = 128


@dataclass
class AppContext:
    settings: Settings
    db: Database
    ids: IdGenerator
    hasher: PasswordHasher
    # Typed by the protocol: services must not depend on the media being on this disk.
    storage: MediaStorage
    images: ImageWorkers
    accounts: AccountsService
    photos: PhotosService
    notifications: NotificationWriter
    graph: GraphService
    interactions: InteractionsService
    notification_feed: NotificationsService
    search: SearchService
    broker: Broker
    hub: Hub
    events: EventPublisher
    presence: Presence
    rooms: RoomsService
    rate_limits: RateLimiter
    home_feed: HomeFeed
    # The photo page's data, through the home feed's caches and its own (feeds/cache.py).
    post_pages: PostPages
    # Explore, tag and profile grids (feeds/cache.py).
    grids: Grids
    # Closes live connections whose session ended and cuts subscriptions whose access did.
    live: LiveControl
    # Rendered post cards and navigation, by everything they show (web/ui_modules.py).
    fragments: FragmentCache
    # Whole rendered pages, the same way (BaseHandler.render_cached).
    pages: FragmentCache
    # False until the server listens and has finished starting; /healthz says 503 until then.
    ready: bool = False
    extras: dict = field(default_factory=dict)
    # Open live sockets, so shutdown can say goodbye (1001) to each.
    sockets: set = field(default_factory=set)
    # Long-polls waiting for events, so shutdown can answer each at once rather than cut it.
    long_polls: set = field(default_factory=set)
    # Pixels each person and address may have processed (photos/fairness.py).
    upload_pixels: PixelBudget = field(default_factory=PixelBudget)
    # True once shutdown has begun: a long-poll arriving now is answered at once.
    stopping: bool = False

    async def start(self) -> None:
        """Connect what needs connecting; with Redis down the site still starts."""
        await self.broker.start()
        await self.live.start()
        await self.db.changes.start()

    def close_sockets(self, code: int = 1001, reason: str = "server shutting down") -> None:
        for socket in list(self.sockets):
            socket.close(code, reason)
        for poll in list(self.long_polls):
            poll.arrived.set()

    async def close(self) -> None:
        self.close_sockets()
        await self.db.finish_after_commit()
        await self.presence.close()
        await self.live.close()
        await self.hub.close()
        await self.broker.close()
        await self.db.changes.close()
        self.hasher.close()
        self.images.close()
        await self.db.dispose()


def build_context(settings: Settings, *, worker_id: int | None = None) -> AppContext:
    """Makes engines and pools but opens no connection: call inside the running loop."""
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Every cache made below hears of changes through the database's ``changes``.
    db = Database(
        settings.database_url,
        changes=make_changes(settings.redis_url or None, enabled=settings.caches),
    )
    ids = IdGenerator(worker_id)
    hasher = PasswordHasher(settings.password_hash, max_threads=settings.password_hash_threads)
    storage = LocalStorage(settings.media_dir)
    images = ImageWorkers()
    accounts = AccountsService(
        db,
        ids,
        hasher,
        session_max_age_days=settings.session_max_age_days,
        avatars=AvatarStore(storage, images),
    )
    broker = make_broker(settings.redis_url or None)
    hub = Hub(broker)
    events = EventPublisher(broker)
    notification_feed = NotificationsService(db, events)
    # The live toast's unread figure is the badge's own (visibility-filtered and capped).
    notifications = NotificationWriter(ids, events, db, unread=notification_feed.unread_count)
    photos = PhotosService(
        db,
        ids,
        storage,
        images,
        fetch_policy=FetchPolicy(
            max_bytes=settings.max_upload_bytes, allow_loopback=settings.allow_loopback_fetch
        ),
        notifications=notifications,
    )
    graph = GraphService(db, ids, notifications)
    rate_limits = RateLimiter(DEFAULT_RATES)
    interactions = InteractionsService(db, ids, notifications, limiter=rate_limits, events=events)
    ctx: AppContext

    async def authorize(user, channel: str) -> int | None:
        return (await authorize_subscribe(ctx, user, channel))[2]

    live = LiveControl(broker, authorize)
    accounts.live = photos.live = graph.live = live
    home_feed = HomeFeed(db, interactions)
    ctx = AppContext(
        live=live,
        settings=settings,
        db=db,
        ids=ids,
        hasher=hasher,
        storage=storage,
        images=images,
        accounts=accounts,
        photos=photos,
        notifications=notifications,
        graph=graph,
        interactions=interactions,
        notification_feed=notification_feed,
        search=SearchService(db),
        broker=broker,
        hub=hub,
        events=events,
        presence=Presence(hub, events),
        rooms=RoomsService(db, ids, events, photos),
        rate_limits=rate_limits,
        home_feed=home_feed,
        post_pages=PostPages(home_feed, interactions, photos),
        grids=Grids(db),
        fragments=FragmentCache(FRAGMENT_ENTRIES if settings.caches else 0),
        pages=FragmentCache(PAGE_ENTRIES if settings.caches else 0),
    )
    return ctx

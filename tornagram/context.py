"""AppContext: everything a handler or service needs, made once per process and injected."""

from __future__ import annotations

from dataclasses import dataclass, field

from tornagram.accounts.addresses import AddressService
from tornagram.accounts.passwords import PasswordHasher
from tornagram.accounts.recovery import RecoveryService
from tornagram.accounts.redis_sessions import RedisSessions
from tornagram.accounts.service import AccountsService
from tornagram.accounts.sessions import DatabaseSessions
from tornagram.accounts.twofactor import TwoFactorService
from tornagram.api.accounts import AccountReads
from tornagram.api.media import MediaService
from tornagram.api.notifications import NotificationReads
from tornagram.api.statuses import StatusService
from tornagram.cache import FragmentCache, make_changes
from tornagram.config import Settings
from tornagram.db.engine import Database
from tornagram.db.ids import IdGenerator
from tornagram.feeds.cache import Grids, HomeFeed, PostPages
from tornagram.feeds.viewers import ViewerFacts
from tornagram.graph.service import GraphService
from tornagram.interactions.service import InteractionsService
from tornagram.leaving.deletion import DeletionService
from tornagram.leaving.export import ExportService
from tornagram.mail import Mailer, make_mailer
from tornagram.metrics import Metrics
from tornagram.moderation.approvals import Approvals
from tornagram.moderation.invites import InviteService
from tornagram.moderation.registration import Registration
from tornagram.moderation.service import ModerationService
from tornagram.moderation.site import SiteService
from tornagram.notifications.service import NotificationsService
from tornagram.notifications.writer import NotificationWriter
from tornagram.oauth.service import OAuthService
from tornagram.photos.avatars import AvatarStore
from tornagram.photos.fairness import PixelBudget
from tornagram.photos.remote import FetchPolicy
from tornagram.photos.service import PhotosService
from tornagram.photos.workers import ImageWorkers
from tornagram.ratelimit import DEFAULT_RATES, Rate, RateLimiter
from tornagram.realtime import Hub, make_broker
from tornagram.realtime.access import authorize_subscribe
from tornagram.realtime.broker import Broker
from tornagram.realtime.control import LiveControl
from tornagram.realtime.presence import Presence
from tornagram.realtime.publish import EventPublisher
from tornagram.rooms.service import RoomsService
from tornagram.search.service import SearchService
from tornagram.storage import media_urls, open_storage
from tornagram.storage.base import MediaStorage
from tornagram.storage.urls import MediaUrls
from tornagram.web.api_limits import WindowCounter
from tornagram.web.uploads import UPLOAD_PART_PREFIX, UPLOAD_PART_SUFFIX

# The app API's own limits per account, beside the site's (which apply to API actions too).
API_RATES = {
    "media_upload": Rate(burst=30, per_secs=60.0),  # 30 per 30 minutes
    "status_delete": Rate(burst=30, per_secs=60.0),
}
# Rendered cards and navigation: about 6 KB each.
FRAGMENT_ENTRIES = 6_000
FRAGMENT_BYTES = 6 * 1024 * 1024
# Whole pages: a home page of twelve cards is about 70 KB, a photo page or a grid 20-30 KB;
# pages shared by every viewer (web/page_slots.py) need one entry for all of them.
PAGE_ENTRIES = 3_000
PAGE_BYTES = 12 * 1024 * 1024


@dataclass
class AppContext:
    settings: Settings
    db: Database
    ids: IdGenerator
    hasher: PasswordHasher
    # Typed by the protocol: services must not depend on the media being on this disk.
    storage: MediaStorage
    # The URL each page uses for a stored key: plain for public media, signed for private.
    media_urls: MediaUrls
    images: ImageWorkers
    accounts: AccountsService
    # Outgoing mail: SMTP with --smtp-url, else .eml files in <data-dir>/outbox.
    mailer: Mailer
    recovery: RecoveryService
    twofactor: TwoFactorService
    addresses: AddressService
    deletion: DeletionService
    # Zips of a person's data, built in the background (leaving/export.py).
    exports: ExportService
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
    moderation: ModerationService
    # The site's name, rules and registration mode; invites; who may sign up; approvals.
    site: SiteService
    invites: InviteService
    registration: Registration
    approvals: Approvals
    rate_limits: RateLimiter
    home_feed: HomeFeed
    # What pages need of the viewer, per viewer, so content entries are shared (feeds/viewers.py).
    viewers: ViewerFacts
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
    # Prometheus metrics of this process, when --metrics-port asks for them (tornagram/metrics.py).
    metrics: Metrics | None = None
    # The app API (tornagram/oauth, tornagram/api): made by build_context.
    oauth: OAuthService | None = None
    api_accounts: AccountReads | None = None
    api_media: MediaService | None = None
    api_statuses: StatusService | None = None
    api_notifications: NotificationReads | None = None
    api_limits: RateLimiter = field(default_factory=lambda: RateLimiter(API_RATES))
    # Requests per token (and per address without one) in this process.
    api_requests: WindowCounter = field(default_factory=WindowCounter)

    async def start(self) -> None:
        """Connect what needs connecting; with Redis down the site still starts."""
        await self.broker.start()
        await self.mailer.start()
        await self.live.start()
        await self.db.changes.start()
        await self.start_media()

    async def start_media(self) -> None:
        """Media fetched from the bucket or a CDN: private photos by the bucket's presigned
        URLs, when the backend can make them."""
        presigner = getattr(self.storage, "presigner", None)
        if self.settings.media_public_url and presigner is not None:
            self.media_urls.presign = await presigner()

    def close_sockets(self, code: int = 1001, reason: str = "server shutting down") -> None:
        for socket in list(self.sockets):
            socket.close(code, reason)
        for poll in list(self.long_polls):
            poll.arrived.set()

    async def close(self) -> None:
        self.close_sockets()
        await self.db.finish_after_commit()
        await self.presence.close()
        await self.recovery.close()
        await self.exports.close()
        await self.mailer.close()
        await self.live.close()
        await self.hub.close()
        await self.broker.close()
        await self.db.changes.close()
        await self.accounts.sessions.close()
        self.hasher.close()
        self.images.close()
        await self.storage.close()
        await self.db.dispose()


def _session_store(settings: Settings, db: Database):
    if settings.session_store == "redis":
        return RedisSessions(db, settings.redis_url)
    return DatabaseSessions(db)


def build_context(settings: Settings, *, worker_id: int | None = None) -> AppContext:
    """Makes engines and pools but opens no connection: call inside the running loop."""
    # Every cache made below hears of changes through the database's ``changes``.
    db = Database(
        settings.database_url,
        changes=make_changes(settings.redis_url or None, enabled=settings.caches),
    )
    ids = IdGenerator(worker_id)
    hasher = PasswordHasher(settings.password_hash, max_threads=settings.password_hash_threads)
    storage = open_storage(settings)
    images = ImageWorkers()
    accounts = AccountsService(
        db,
        ids,
        hasher,
        session_max_age_days=settings.session_max_age_days,
        avatars=AvatarStore(storage, images),
        sessions=_session_store(settings, db),
    )
    mailer = make_mailer(settings.smtp_url, settings.mail_from, settings.outbox_dir)
    rate_limits = RateLimiter(
        {
            **DEFAULT_RATES,
            "signup-ip": Rate(
                burst=settings.signup_ip_burst, per_secs=settings.signup_ip_every_secs
            ),
        }
    )
    recovery = RecoveryService(db, ids, hasher, accounts, mailer, settings, rate_limits)
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
        require_confirmed_email=settings.require_email_confirmation,
        fetch_policy=FetchPolicy(
            max_bytes=settings.max_upload_bytes, allow_loopback=settings.allow_loopback_fetch
        ),
        notifications=notifications,
    )
    photos.events = events
    graph = GraphService(db, ids, notifications)
    interactions = InteractionsService(db, ids, notifications, limiter=rate_limits, events=events)
    ctx: AppContext

    async def authorize(user, channel: str) -> int | None:
        return (await authorize_subscribe(ctx, user, channel))[2]

    live = LiveControl(broker, authorize)
    twofactor = TwoFactorService(db, ids, hasher, accounts)
    deletion = DeletionService(db, hasher, accounts, twofactor, storage, settings)
    moderation = ModerationService(
        db,
        ids,
        accounts=accounts,
        photos=photos,
        interactions=interactions,
        notifications=notifications,
        limiter=rate_limits,
        deletion=deletion,
    )
    site = SiteService(db, ids)
    invites = InviteService(db, ids, site, rate_limits)
    accounts.live = photos.live = graph.live = deletion.live = moderation.live = live
    accounts.going_public = graph.let_everyone_in
    home_feed = HomeFeed(db, interactions)
    viewers = ViewerFacts(db)
    ctx = AppContext(
        live=live,
        settings=settings,
        db=db,
        ids=ids,
        hasher=hasher,
        storage=storage,
        media_urls=media_urls(settings),
        images=images,
        accounts=accounts,
        mailer=mailer,
        recovery=recovery,
        twofactor=twofactor,
        addresses=AddressService(db, ids, hasher, mailer, settings),
        deletion=deletion,
        exports=ExportService(db, ids, storage, settings),
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
        rooms=RoomsService(db, ids, events, photos, limiter=rate_limits),
        moderation=moderation,
        site=site,
        invites=invites,
        registration=Registration(accounts, site, invites, rate_limits),
        approvals=Approvals(db, ids, deletion, mailer, settings, site),
        rate_limits=rate_limits,
        home_feed=home_feed,
        viewers=viewers,
        post_pages=PostPages(home_feed, interactions, photos, viewers),
        grids=Grids(db, viewers),
        fragments=FragmentCache(
            FRAGMENT_ENTRIES if settings.caches else 0, max_bytes=FRAGMENT_BYTES
        ),
        pages=FragmentCache(PAGE_ENTRIES if settings.caches else 0, max_bytes=PAGE_BYTES),
    )
    if settings.metrics_port:
        ctx.metrics = Metrics()
        ctx.metrics.attach(ctx)
    ctx.oauth = OAuthService(db, ids)
    # Every end of all of a person's sessions (password change or reset, suspension, a required
    # new password, deletion) ends their app tokens in the same transaction.
    accounts.on_all_sessions_ended.append(ctx.oauth.revoke_all_of)

    async def close_streams(by_user: dict[int, list[int]]) -> None:
        # Token and session ids come from one id generator and never collide, so the live
        # control's "session ended" closes a revoked token's streams on every process.
        for user_id, token_ids in by_user.items():
            await live.session_ended(user_id, token_ids)

    ctx.oauth.on_revoked.append(close_streams)
    ctx.api_accounts = AccountReads(db, graph)
    ctx.api_media = MediaService(
        db,
        ids,
        photos,
        lambda upload_id: settings.data_dir / "tmp" / (
            f"{UPLOAD_PART_PREFIX}media-{upload_id}{UPLOAD_PART_SUFFIX}"
        ),
    )
    ctx.api_statuses = StatusService(db, photos, interactions, ctx.api_media)
    ctx.api_notifications = NotificationReads(db, ctx.api_statuses)
    return ctx

"""make_app(context) → Application: the whole route table, in one place, every route named."""

from __future__ import annotations

from pathlib import Path

import tornado.web

from tornagram.accounts import address_handlers as addresses
from tornagram.accounts import handlers as accounts
from tornagram.accounts import recovery_handlers as recovery
from tornagram.accounts import twofactor_handlers as twofactor
from tornagram.api import account_handlers as api_accounts
from tornagram.api import handlers as api
from tornagram.api import notification_handlers as api_notifications
from tornagram.api import status_handlers as api_statuses
from tornagram.api import streaming as api_streaming
from tornagram.feeds import handlers as feeds
from tornagram.graph import handlers as graph
from tornagram.i18n import load_translations
from tornagram.interactions import handlers as interactions
from tornagram.leaving import handlers as leaving
from tornagram.metrics import route_names
from tornagram.moderation import handlers as moderation
from tornagram.moderation import site_handlers as site_pages
from tornagram.notifications import handlers as notification_pages
from tornagram.oauth import handlers as oauth
from tornagram.photos import handlers as photos
from tornagram.realtime import longpoll as live_longpoll
from tornagram.realtime import sockets as live_sockets
from tornagram.rooms import handlers as rooms
from tornagram.search import handlers as search_pages
from tornagram.web import ui_modules
from tornagram.web.access_log import log_request
from tornagram.web.api import ANYONE, ApiNotFoundHandler, public, user
from tornagram.web.base import HealthHandler, NotFoundHandler
from tornagram.web.media import MediaHandler, StaticHandler
from tornagram.web.proxy import apply_forwarded_headers

PACKAGE_DIR = Path(__file__).parent
USERNAME = r"([A-Za-z0-9_.]{1,30})"
POST_ID = r"([0-9]{1,19})"
# API ids are matched loosely so that a malformed one is a JSON 404 from the handler.
API_ID = r"([^/]{1,40})"

# The app API: every route with the scope each of its methods needs, in one table. A token
# without it gets 403 before anything else is looked at (web/api.py: ApiHandler.prepare);
# tests/api/test_scopes.py walks this table and fails on a route or method left out.
# public(...): works without a token too; user(...): needs one; ANYONE: tokens not read.
API_ROUTES = [
    # -- discovery
    (r"/api/v1/instance", api.InstanceV1Handler, "api_instance_v1", {"GET": ANYONE}),
    (r"/api/v2/instance", api.InstanceV2Handler, "api_instance_v2", {"GET": ANYONE}),
    (r"/api/v1/custom_emojis", api.EmptyListHandler, "api_custom_emojis", {"GET": ANYONE}),
    (r"/.well-known/oauth-authorization-server", api.OAuthMetadataHandler, "oauth_metadata",
     {"GET": ANYONE}),
    (r"/.well-known/nodeinfo", api.NodeInfoLinksHandler, "nodeinfo_links", {"GET": ANYONE}),
    (r"/nodeinfo/2\.0", api.NodeInfoHandler, "nodeinfo", {"GET": ANYONE}),
    # -- OAuth
    (r"/api/v1/apps", api.AppsHandler, "api_apps", {"POST": ANYONE}),
    (r"/api/v1/apps/verify_credentials", api.AppVerifyHandler, "api_app_verify", {"GET": user()}),
    (r"/oauth/token", oauth.TokenHandler, "oauth_token", {"POST": ANYONE}),
    (r"/oauth/revoke", oauth.RevokeHandler, "oauth_revoke", {"POST": ANYONE}),
    # -- accounts
    (r"/api/v1/accounts/verify_credentials", api.VerifyCredentialsHandler,
     "api_verify_credentials", {"GET": user("read:accounts", "profile")}),
    (r"/api/v1/accounts/update_credentials", api_accounts.UpdateCredentialsHandler,
     "api_update_credentials", {"PATCH": user("write:accounts")}),
    (r"/api/v1/accounts/search", api_accounts.AccountSearchHandler, "api_account_search",
     {"GET": user("read:accounts")}),
    (r"/api/v1/accounts/lookup", api_accounts.LookupHandler, "api_lookup",
     {"GET": public("read:accounts")}),
    (r"/api/v1/accounts/relationships", api_accounts.RelationshipsHandler, "api_relationships",
     {"GET": user("read:follows")}),
    (r"/api/v1/accounts/" + API_ID, api_accounts.AccountHandler, "api_account",
     {"GET": public("read:accounts")}),
    (r"/api/v1/accounts/" + API_ID + "/statuses", api_accounts.AccountStatusesHandler,
     "api_account_statuses", {"GET": public("read:statuses")}),
    (r"/api/v1/accounts/" + API_ID + "/(follow|unfollow)", api_accounts.FollowHandler,
     "api_follow", {"POST": user("write:follows")}),
    (r"/api/v1/accounts/" + API_ID + "/(block|unblock)", api_accounts.BlockHandler,
     "api_block", {"POST": user("write:blocks")}),
    (r"/api/v1/accounts/" + API_ID + "/(followers|following)", api_accounts.PeopleHandler,
     "api_people", {"GET": public("read:accounts")}),
    (r"/api/v1/blocks", api_accounts.BlocksHandler, "api_blocks", {"GET": user("read:blocks")}),
    (r"/api/v1/follow_requests", api_accounts.FollowRequestsHandler, "api_follow_requests",
     {"GET": user("read:follows")}),
    (r"/api/v1/follow_requests/" + API_ID + "/(authorize|reject)",
     api_accounts.AnswerRequestHandler, "api_answer_request", {"POST": user("write:follows")}),
    # -- statuses and media
    (r"/api/v1/statuses", api_statuses.StatusesHandler, "api_statuses",
     {"POST": user("write:statuses")}),
    (r"/api/v1/statuses/" + API_ID, api_statuses.StatusHandler, "api_status",
     {"GET": public("read:statuses"), "PUT": user("write:statuses"),
      "DELETE": user("write:statuses")}),
    (r"/api/v1/statuses/" + API_ID + "/context", api_statuses.ContextHandler, "api_context",
     {"GET": public("read:statuses")}),
    (r"/api/v1/statuses/" + API_ID + "/(favourite|unfavourite)", api_statuses.MarkHandler,
     "api_favourite", {"POST": user("write:favourites")}),
    (r"/api/v1/statuses/" + API_ID + "/(bookmark|unbookmark)", api_statuses.MarkHandler,
     "api_bookmark", {"POST": user("write:bookmarks")}),
    (r"/api/v1/statuses/" + API_ID + "/(?:reblog|unreblog)", api_statuses.ReblogHandler,
     "api_reblog", {"POST": user("write:statuses")}),
    (r"/api/v1/statuses/" + API_ID + "/favourited_by", api_statuses.FavouritedByHandler,
     "api_favourited_by", {"GET": public("read:accounts")}),
    (r"/api/v1/statuses/" + API_ID + "/reblogged_by", api.EmptyListHandler, "api_reblogged_by",
     {"GET": public("read:accounts")}),
    (r"/api/v1/(favourites)", api_statuses.MarkedListHandler, "api_favourites",
     {"GET": user("read:favourites")}),
    (r"/api/v1/(bookmarks)", api_statuses.MarkedListHandler, "api_bookmarks",
     {"GET": user("read:bookmarks")}),
    (r"/api/v2/media", api_statuses.MediaUploadHandler, "api_media_v2",
     {"POST": user("write:media")}),
    (r"/api/v1/media", api_statuses.MediaUploadHandler, "api_media_v1",
     {"POST": user("write:media")}, {"deprecated": True}),
    (r"/api/v1/media/" + API_ID, api_statuses.MediaHandler, "api_media",
     {"GET": user("write:media"), "PUT": user("write:media"), "DELETE": user("write:media")}),
    # -- timelines
    (r"/api/v1/timelines/home", api_statuses.HomeTimelineHandler, "api_home",
     {"GET": user("read:statuses")}),
    (r"/api/v1/timelines/public", api_statuses.PublicTimelineHandler, "api_public",
     {"GET": public("read:statuses")}),
    (r"/api/v1/timelines/tag/([^/]{1,300})", api_statuses.TagTimelineHandler, "api_tag",
     {"GET": public("read:statuses")}),
    # -- notifications and search
    (r"/api/v1/notifications", api_notifications.NotificationsHandler, "api_notifications",
     {"GET": user("read:notifications")}),
    (r"/api/v1/notifications/unread_count", api_notifications.UnreadCountHandler,
     "api_notifications_unread", {"GET": user("read:notifications")}),
    (r"/api/v1/notifications/clear", api_notifications.ClearHandler, "api_notifications_clear",
     {"POST": user("write:notifications")}),
    (r"/api/v1/notifications/" + API_ID, api_notifications.NotificationHandler,
     "api_notification", {"GET": user("read:notifications")}),
    (r"/api/v1/notifications/" + API_ID + "/dismiss", api_notifications.DismissHandler,
     "api_notification_dismiss", {"POST": user("write:notifications")}),
    (r"/api/v2/search", api_notifications.SearchHandler, "api_search",
     {"GET": public("read:search")}),
    # -- streaming (a token without a reading scope is 401 here, before the upgrade)
    (r"/api/v1/streaming", api_streaming.StreamingSocket, "api_streaming",
     {"GET": user("read:statuses", "read:notifications")}),
    (r"/api/v1/streaming/health", api_streaming.StreamingHealthHandler, "api_streaming_health",
     {"GET": ANYONE}),
    (r"/api/v1/streaming/user", api_streaming.StreamingEventsHandler, "api_streaming_user",
     {"GET": user("read:statuses", "read:notifications")}, {"stream": "user"}),
    (r"/api/v1/streaming/user/notification", api_streaming.StreamingEventsHandler,
     "api_streaming_notification", {"GET": user("read:notifications")},
     {"stream": "user:notification"}),
    *(
        (rf"/api/v1/streaming/{path}", api_streaming.StreamingEventsHandler,
         "api_streaming_" + stream.replace(":", "_"), {"GET": user("read:statuses")},
         {"stream": stream})
        for path, stream in (
            ("public", "public"),
            ("public/local", "public:local"),
            ("public/media", "public:media"),
            ("public/local/media", "public:local:media"),
            ("hashtag", "hashtag"),
            ("hashtag/local", "hashtag:local"),
        )
    ),
    # -- what Tornagram does not have: empty answers, so clients start cleanly
    *(
        (rf"/api/{path}", api.EmptyListHandler, "api_empty_" + path.replace("/", "_"),
         {"GET": user(scope)})
        for path, scope in (
            ("v1/lists", "read:lists"),
            ("v1/filters", "read:filters"),
            ("v2/filters", "read:filters"),
            ("v1/announcements", "read:accounts"),
            ("v1/followed_tags", "read:follows"),
            ("v1/conversations", "read:statuses"),
            ("v1/mutes", "read:mutes"),
            ("v1/domain_blocks", "read:blocks"),
            ("v1/endorsements", "read:accounts"),
            ("v1/scheduled_statuses", "read:statuses"),
        )
    ),
    (r"/api/v1/markers", api.EmptyObjectHandler, "api_markers", {"GET": user("read:statuses")}),
    (r"/api/v1/preferences", api.PreferencesHandler, "api_preferences",
     {"GET": user("read:accounts")}),
    # Every other /api/ path: a JSON 404, never the HTML page.
    (r"/api/.*", ApiNotFoundHandler, "api_not_found", {}),
]  # fmt: skip


def api_routes(ctx) -> list[tuple]:
    """The table as Tornado routes: each path also with a trailing slash."""
    routes = []
    for pattern, handler, name, scopes, *extra in API_ROUTES:
        kwargs = dict(ctx=ctx, scopes=scopes, **(extra[0] if extra else {}))
        if pattern != r"/api/.*":
            pattern += "/?"
        routes.append((pattern, handler, kwargs, name))
    return routes


class TornagramApplication(tornado.web.Application):
    """The application; behind our proxy it takes the client's address and scheme from the
    headers that proxy sets (web/proxy.py), before any handler, log line or limit sees them."""

    behind_proxy = False
    # This process's Prometheus metrics, or None (tornagram/metrics.py).
    metrics = None
    # Handler class → route name (tornagram/metrics.py: route_names).
    route_names: dict = {}  # noqa: RUF012 - replaced per application, never mutated

    def find_handler(self, request, **kwargs):
        if self.behind_proxy:
            apply_forwarded_headers(request)
        return super().find_handler(request, **kwargs)


def make_app(ctx) -> tornado.web.Application:
    settings = ctx.settings
    load_translations()
    c = dict(ctx=ctx)
    routes = [
        (r"/", feeds.HomeHandler, c, "home"),
        (r"/healthz", HealthHandler, c, "healthz"),
        (r"/signup", accounts.SignupHandler, c, "signup"),
        (r"/login", accounts.LoginHandler, c, "login"),
        (r"/logout", accounts.LogoutHandler, c, "logout"),
        (r"/login/code", twofactor.LoginCodeHandler, c, "login_code"),
        (r"/forgot", recovery.ForgotPasswordHandler, c, "forgot_password"),
        (r"/reset", recovery.ResetPasswordHandler, c, "reset_password"),
        (r"/settings/profile", accounts.ProfileSettingsHandler, c, "settings_profile"),
        (r"/settings/password", accounts.PasswordSettingsHandler, c, "settings_password"),
        (r"/settings/sessions", accounts.SessionsSettingsHandler, c, "settings_sessions"),
        (
            r"/settings/sessions/([0-9]{1,20})/revoke",
            accounts.RevokeSessionHandler,
            c,
            "revoke_session",
        ),
        (
            r"/settings/sessions/revoke-others",
            accounts.RevokeOtherSessionsHandler,
            c,
            "revoke_other_sessions",
        ),
        (r"/settings/security", twofactor.SecuritySettingsHandler, c, "settings_security"),
        (r"/settings/security/setup", twofactor.TwoFactorSetupHandler, c, "twofactor_setup"),
        (r"/settings/security/enable", twofactor.TwoFactorEnableHandler, c, "twofactor_enable"),
        (r"/settings/security/disable", twofactor.TwoFactorDisableHandler, c, "twofactor_disable"),
        (r"/settings/security/codes", twofactor.RecoveryCodesHandler, c, "recovery_codes"),
        (r"/confirm-email", addresses.ConfirmEmailHandler, c, "confirm_email"),
        (r"/settings/email", addresses.EmailSettingsHandler, c, "settings_email"),
        (
            r"/settings/email/resend",
            addresses.ResendConfirmationHandler,
            c,
            "resend_confirmation",
        ),
        (r"/settings/delete", leaving.DeleteAccountHandler, c, "settings_delete"),
        (r"/settings/export", leaving.ExportHandler, c, "settings_export"),
        (r"/settings/export/([0-9]{1,20})\.json", leaving.ExportStatusHandler, c, "export_status"),
        (
            r"/settings/export/([0-9]{1,20})/download",
            leaving.ExportDownloadHandler,
            c,
            "export_download",
        ),
        (r"/settings/language", accounts.LanguageHandler, c, "language"),
        (r"/settings/apps", oauth.AppsSettingsHandler, c, "settings_apps"),
        (r"/settings/apps/([0-9]{1,20})/revoke", oauth.RevokeAppHandler, c, "revoke_app"),
        # -- apps: the consent page and the out-of-band code page (the API is below)
        (r"/oauth/authorize", oauth.AuthorizeHandler, c, "oauth_authorize"),
        (r"/oauth/authorize/native", oauth.NativeCodeHandler, c, "oauth_native"),
        (r"/@" + USERNAME, feeds.ProfileHandler, c, "profile"),
        (r"/upload", photos.UploadHandler, c, "upload"),
        (r"/upload/url", photos.UrlImportHandler, c, "upload_url"),
        (r"/p/" + POST_ID, photos.PostHandler, c, "post"),
        (r"/p/" + POST_ID + "/edit", photos.PostEditHandler, c, "post_edit"),
        (r"/p/" + POST_ID + "/delete", photos.PostDeleteHandler, c, "post_delete"),
        # -- social graph: follow, requests, block
        (r"/@" + USERNAME + "/follow", graph.FollowHandler, c, "follow"),
        (r"/@" + USERNAME + "/unfollow", graph.UnfollowHandler, c, "unfollow"),
        (r"/@" + USERNAME + "/block", graph.BlockHandler, c, "block"),
        (r"/@" + USERNAME + "/unblock", graph.UnblockHandler, c, "unblock"),
        (r"/@" + USERNAME + "/mute", graph.MuteHandler, c, "mute"),
        (r"/@" + USERNAME + "/unmute", graph.UnmuteHandler, c, "unmute"),
        (r"/settings/muted", graph.MutedHandler, c, "settings_muted"),
        (r"/@" + USERNAME + "/followers", graph.FollowersHandler, c, "followers"),
        (r"/@" + USERNAME + "/following", graph.FollowingHandler, c, "following"),
        (r"/follow-requests", graph.FollowRequestsHandler, c, "follow_requests"),
        (
            r"/follow-requests/([0-9]{1,19})/(approve|deny)",
            graph.AnswerRequestHandler,
            c,
            "answer_request",
        ),
        # -- feeds: home, explore, tags
        (r"/explore", feeds.ExploreHandler, c, "explore"),
        (r"/tags/([^/]+)", feeds.TagHandler, c, "tag"),
        # -- likes, comments, saves
        (r"/p/" + POST_ID + "/like", interactions.LikeHandler, c, "like"),
        (r"/p/" + POST_ID + "/unlike", interactions.UnlikeHandler, c, "unlike"),
        (r"/p/" + POST_ID + "/likes", interactions.LikersHandler, c, "likers"),
        (r"/p/" + POST_ID + "/comments", interactions.CommentsHandler, c, "comments"),
        (r"/comments/([0-9]{1,19})/delete", interactions.CommentDeleteHandler, c, "comment_delete"),
        (r"/comments/([0-9]{1,19})/replies", interactions.RepliesHandler, c, "comment_replies"),
        (r"/p/" + POST_ID + "/save", interactions.SaveHandler, c, "save"),
        (r"/p/" + POST_ID + "/unsave", interactions.UnsaveHandler, c, "unsave"),
        (r"/saved", interactions.SavedHandler, c, "saved"),
        # -- notifications and search
        (r"/notifications", notification_pages.NotificationsHandler, c, "notifications"),
        (r"/search", search_pages.SearchHandler, c, "search"),
        # -- live: sockets, long-poll, rooms
        (r"/ws", live_sockets.LiveSocket, c, "ws"),
        (r"/poll", live_longpoll.PollHandler, c, "poll"),
        (r"/rooms", rooms.RoomsHandler, c, "rooms"),
        (r"/rooms/([a-z0-9-]{1,40})", rooms.RoomHandler, c, "room"),
        (r"/rooms/([a-z0-9-]{1,40})/messages", rooms.RoomMessageHandler, c, "room_messages"),
        # -- moderation: reports, the suspended notice, and the moderators' pages
        (r"/report", moderation.ReportHandler, c, "report"),
        (r"/suspended", moderation.SuspendedHandler, c, "suspended"),
        (r"/admin", moderation.AdminHomeHandler, c, "admin"),
        (r"/admin/reports", moderation.AdminReportsHandler, c, "admin_reports"),
        (r"/admin/reports/([0-9]{1,19})", moderation.AdminReportHandler, c, "admin_report"),
        (
            r"/admin/reports/([0-9]{1,19})/resolve",
            moderation.AdminResolveHandler,
            c,
            "admin_resolve",
        ),
        (r"/admin/users", moderation.AdminUsersHandler, c, "admin_users"),
        (r"/admin/users/([0-9]{1,19})", moderation.AdminUserHandler, c, "admin_user"),
        (
            r"/admin/users/([0-9]{1,19})/(suspend|unsuspend|reset-password|delete)",
            moderation.AdminUserActionHandler,
            c,
            "admin_user_action",
        ),
        (r"/admin/log", moderation.AdminLogHandler, c, "admin_log"),
        (r"/admin/settings", site_pages.AdminSettingsHandler, c, "admin_settings"),
        (r"/admin/approvals", site_pages.AdminApprovalsHandler, c, "admin_approvals"),
        (
            r"/admin/approvals/([0-9]{1,19})/(approve|reject)",
            site_pages.AdminApprovalActionHandler,
            c,
            "admin_approval_action",
        ),
        # -- the site's own pages: about, the waiting notice, invite links
        (r"/about", site_pages.AboutHandler, c, "about"),
        (r"/waiting", site_pages.WaitingHandler, c, "waiting"),
        (r"/invites", site_pages.InvitesHandler, c, "invites"),
        (r"/invites/([0-9]{1,19})/revoke", site_pages.InviteRevokeHandler, c, "invite_revoke"),
        (
            r"/media/(.+)",
            MediaHandler,
            c,
            "media",
        ),
        *api_routes(ctx),
    ]
    app = TornagramApplication(
        [tornado.web.url(*route) for route in routes],
        template_path=str(PACKAGE_DIR / "templates"),
        static_path=str(PACKAGE_DIR / "static"),
        static_handler_class=StaticHandler,
        ui_modules=ui_modules,
        cookie_secret=settings.cookie_secret,
        xsrf_cookies=True,
        # SameSite=Lax on the XSRF cookie too; it stays readable by our scripts (double submit).
        xsrf_cookie_kwargs=dict(samesite="Lax"),
        login_url="/login",
        default_handler_class=NotFoundHandler,
        default_handler_args=c,
        log_function=log_request,
        debug=settings.debug,
        autoreload=settings.autoreload,
        # Tracebacks reach the browser only in --debug.
        serve_traceback=settings.debug,
        compress_response=True,
        websocket_ping_interval=live_sockets.WEBSOCKET_PING_INTERVAL_SECS,
        websocket_max_message_size=live_sockets.MAX_MESSAGE_BYTES,
    )
    app.behind_proxy = settings.behind_proxy
    # The access log and the metrics name a request by its route, never by its raw path.
    app.route_names = route_names(routes, not_found=NotFoundHandler, static=StaticHandler)
    app.metrics = ctx.metrics
    return app

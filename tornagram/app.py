"""make_app(context) → Application: the whole route table, in one place, every route named."""

from __future__ import annotations

from pathlib import Path

import tornado.web

from tornagram.accounts import handlers as accounts
from tornagram.feeds import handlers as feeds
from tornagram.graph import handlers as graph
from tornagram.i18n import load_translations
from tornagram.interactions import handlers as interactions
from tornagram.notifications import handlers as notification_pages
from tornagram.photos import handlers as photos
from tornagram.realtime import longpoll as live_longpoll
from tornagram.realtime import sockets as live_sockets
from tornagram.rooms import handlers as rooms
from tornagram.search import handlers as search_pages
from tornagram.web import ui_modules
from tornagram.web.access_log import log_request
from tornagram.web.base import HealthHandler, NotFoundHandler
from tornagram.web.media import MediaHandler, StaticHandler
from tornagram.web.proxy import apply_forwarded_headers

PACKAGE_DIR = Path(__file__).parent
USERNAME = r"([A-Za-z0-9_.]{1,30})"
POST_ID = r"([0-9]{1,19})"


class TornagramApplication(tornado.web.Application):
    """The application; behind our proxy it takes the client's address and scheme from the
    headers that proxy sets (web/proxy.py), before any handler, log line or limit sees them."""

    behind_proxy = False

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
        (r"/settings/language", accounts.LanguageHandler, c, "language"),
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
        (
            r"/media/(.+)",
            MediaHandler,
            c,
            "media",
        ),
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
    return app

"""Discovery (instance, OAuth metadata, nodeinfo) and app registration."""

from __future__ import annotations

from importlib import metadata

from sqlalchemy import func, select

from tornagram.api.entities import credential_account
from tornagram.moderation.models import RegistrationMode
from tornagram.oauth.scopes import ALL_SCOPES
from tornagram.oauth.service import InvalidApp
from tornagram.photos.models import Post
from tornagram.photos.service import MAX_PHOTOS_PER_POST
from tornagram.web.api import ApiError, ApiHandler

# Clients switch features on by the number before the space; 4.3 would promise grouped
# notifications, which are not here yet.
MASTODON_VERSION = "4.2.0"
SUPPORTED_MIME_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/heic",
                        "image/heif"]  # fmt: skip
MAX_CHARACTERS = 2200
DESCRIPTION = "A self-hosted photo-sharing site."


try:
    __version__ = metadata.version("tornagram")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0"


def version() -> str:
    return f"{MASTODON_VERSION} (compatible; Tornagram {__version__})"


OPEN_MODES = (RegistrationMode.OPEN, RegistrationMode.APPROVAL)


class InstanceMixin:
    async def site(self):
        """The admins' settings (/admin/settings) as the instance entities show them."""
        info = await self.ctx.site.current()
        return {
            "title": info.name,
            "description": info.description or DESCRIPTION,
            "email": info.contact_email,
            "rules": [
                {"id": str(n), "text": rule, "hint": ""} for n, rule in enumerate(info.rules, 1)
            ],
            # Mastodon has no invite-only mode: there, as when closed, nobody signs up by
            # themselves, and invite links still work.
            "registrations": info.registration in OPEN_MODES,
            "approval_required": info.registration == RegistrationMode.APPROVAL,
            "invites_enabled": info.members_may_invite,
        }

    async def counts(self) -> tuple[int, int]:
        users = await self.ctx.api_accounts.user_count()
        async with self.ctx.db.read() as session:
            posts = await session.scalar(select(func.count()).select_from(Post))
        return users, posts

    def streaming_url(self) -> str:
        scheme = "wss" if self.request.protocol == "https" else "ws"
        return f"{scheme}://{self.request.host}"

    def configuration(self) -> dict:
        settings = self.ctx.settings
        return {
            "statuses": {
                "max_characters": MAX_CHARACTERS,
                "max_media_attachments": MAX_PHOTOS_PER_POST,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "supported_mime_types": SUPPORTED_MIME_TYPES,
                "image_size_limit": settings.max_upload_bytes,
                "image_matrix_limit": self.ctx.photos.max_pixels,
                "video_size_limit": 0,
                "video_frame_rate_limit": 0,
                "video_matrix_limit": 0,
                "description_limit": self.ctx.api_media.description_limit,
            },
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
            "polls": {
                "max_options": 0,
                "max_characters_per_option": 0,
                "min_expiration": 0,
                "max_expiration": 0,
            },
        }

    async def contact(self):
        return None


class InstanceV1Handler(InstanceMixin, ApiHandler):
    async def get(self) -> None:
        users, posts = await self.counts()
        site = await self.site()
        self.write_json(
            {
                "uri": self.request.host,
                "title": site["title"],
                "short_description": site["description"],
                "description": site["description"],
                "email": site["email"],
                "version": version(),
                "urls": {"streaming_api": self.streaming_url()},
                "stats": {"user_count": users, "status_count": posts, "domain_count": 0},
                "thumbnail": self.site_url("/static/img/header-default.png"),
                "languages": ["en", "zh"],
                "registrations": site["registrations"],
                "approval_required": site["approval_required"],
                "invites_enabled": site["invites_enabled"],
                "configuration": self.configuration(),
                "contact_account": None,
                "rules": site["rules"],
            }
        )


class InstanceV2Handler(InstanceMixin, ApiHandler):
    async def get(self) -> None:
        users, _posts = await self.counts()
        configuration = self.configuration()
        configuration["urls"] = {"streaming": self.streaming_url()}
        configuration["translation"] = {"enabled": False}
        configuration["timelines_access"] = {
            "live_feeds": {"local": "public", "remote": "public"},
            "hashtag_feeds": {"local": "public", "remote": "public"},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        }
        site = await self.site()
        self.write_json(
            {
                "domain": self.request.host,
                "title": site["title"],
                "version": version(),
                # The project has no public home yet: the site itself stands for it.
                "source_url": self.site_url("/"),
                "description": site["description"],
                "usage": {"users": {"active_month": users}},
                "thumbnail": {"url": self.site_url("/static/img/header-default.png")},
                "icon": [],
                "languages": ["en", "zh"],
                "configuration": configuration,
                "registrations": {
                    "enabled": site["registrations"],
                    "approval_required": site["approval_required"],
                    "message": None,
                },
                "contact": {"email": site["email"], "account": None},
                "rules": site["rules"],
            }
        )


class OAuthMetadataHandler(ApiHandler):
    """RFC 8414: where an app finds the OAuth endpoints."""

    def get(self) -> None:
        url = self.site_url
        self.write_json(
            {
                "issuer": url("/"),
                "authorization_endpoint": url("/oauth/authorize"),
                "token_endpoint": url("/oauth/token"),
                "revocation_endpoint": url("/oauth/revoke"),
                "app_registration_endpoint": url("/api/v1/apps"),
                "scopes_supported": list(ALL_SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )


class NodeInfoLinksHandler(ApiHandler):
    def get(self) -> None:
        self.write_json(
            {
                "links": [
                    {
                        "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                        "href": self.site_url("/nodeinfo/2.0"),
                    }
                ]
            }
        )


class NodeInfoHandler(InstanceMixin, ApiHandler):
    async def get(self) -> None:
        users, posts = await self.counts()
        site = await self.site()
        self.write_json(
            {
                "version": "2.0",
                "software": {"name": "tornagram", "version": __version__},
                "protocols": [],
                "services": {"inbound": [], "outbound": []},
                "openRegistrations": site["registrations"],
                "usage": {"users": {"total": users, "activeMonth": users}, "localPosts": posts},
                "metadata": {"nodeName": site["title"]},
            }
        )


class EmptyListHandler(ApiHandler):
    """Features Tornagram lacks answer an empty list, so clients start cleanly."""

    def get(self) -> None:
        self.write_json([])


class EmptyObjectHandler(ApiHandler):
    def get(self) -> None:
        self.write_json({})


class PreferencesHandler(ApiHandler):
    def get(self) -> None:
        self.write_json(
            {
                "posting:default:visibility": "public",
                "posting:default:sensitive": False,
                "posting:default:language": None,
                "reading:expand:media": "default",
                "reading:expand:spoilers": False,
            }
        )


def _redirect_uris(handler: ApiHandler) -> list[str]:
    body = handler.json_body()
    value = body.get("redirect_uris")
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ApiError(422, "redirect_uris must be strings")
        return [v for v in value if v.strip()]
    raw = handler.param_list("redirect_uris")
    uris = []
    for item in raw:
        # One string may hold several, one per line.
        uris.extend(line.strip() for line in item.replace("\r", "\n").split("\n") if line.strip())
    return uris


class AppsHandler(ApiHandler):
    """POST /api/v1/apps: register an app (public)."""

    async def post(self) -> None:
        try:
            app, secret = await self.ctx.oauth.register_app(
                self.param("client_name") or "",
                _redirect_uris(self),
                self.param("scopes"),
                self.param("website") or "",
            )
        except InvalidApp as exc:
            raise ApiError(422, exc.message) from None
        uris = app.redirect_uri_list
        self.write_json(
            {
                "id": str(app.id),
                "name": app.name,
                "website": app.website or None,
                "scopes": app.scope_list,
                "redirect_uris": uris,
                "redirect_uri": "\n".join(uris),
                "client_id": app.client_id,
                "client_secret": secret,
                "client_secret_expires_at": 0,
                "vapid_key": "",
            }
        )


class AppVerifyHandler(ApiHandler):
    def get(self) -> None:
        app = self.token_use.app
        self.write_json(
            {
                "id": str(app.id),
                "name": app.name,
                "website": app.website or None,
                "scopes": app.scope_list,
                "redirect_uris": app.redirect_uri_list,
                "redirect_uri": "\n".join(app.redirect_uri_list),
                "vapid_key": "",
            }
        )


class VerifyCredentialsHandler(ApiHandler):
    async def get(self) -> None:
        user = self.current_user
        count = await self.ctx.graph.pending_request_count(user)
        self.write_json(credential_account(user, self.urls(), count))

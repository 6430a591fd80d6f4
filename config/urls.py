"""Top-level URLs: the clerks' screens, the API, its schema and docs, the admin."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from linkage import health, metrics
from linkage.oauth import views as oauth_views

urlpatterns = [
    path("", include("linkage.urls")),
    path("healthz", health.readiness, name="healthz"),
    path("healthz/live", health.liveness, name="healthz-live"),
    path("metrics", metrics.metrics, name="metrics"),
    path("oauth/token", oauth_views.token, name="oauth-token"),
    path("oauth/introspect", oauth_views.introspect, name="oauth-introspect"),
    path("api/v1/", include("linkage.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # Redoc styles itself inline and parses in a blob worker: allowed on this page only,
        # which shows the public contract and no personal data.
        csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(
            SpectacularRedocView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    # Browsers ask for /favicon.ico whatever the page says: answered, not logged as a 404.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
]
if settings.SIMULATORS_ENABLED:
    # The sandbox's simulated peers, each reached only over HTTP (replaced by a real one
    # through PEER_URLS), and the simulated business systems' screens.
    urlpatterns += [
        path("sim/", include("intermediate.urls")),
        path("backbone/", include("backbone.urls")),
    ]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"

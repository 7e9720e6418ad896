"""The web application (issue #9): FastAPI pages (Jinja2, ECharts) and the /api/v1 JSON API.

    from mifund.web.app import create_app
    from mifund.web.settings import WebSettings
    app = create_app(WebSettings(db="demo/mifund.duckdb"))

Layout: ``settings`` (the one pydantic-settings object), ``services`` (the service layer: every query
filtered by the user's regions), ``deps`` (Annotated dependencies: the user, permissions, CSRF),
``api/routes/<resource>.py`` (thin JSON routes), ``pages/<page>.py`` (thin HTML routes),
``templates/``, ``static/``, ``locales/<lang>.yaml`` (message catalogues). A new page is one module in
``pages`` (with a ``router`` and ``NAV`` entries) added to ``app.PAGE_MODULES``, one template and its
catalogue keys; a new API resource one module in ``api/routes`` added to ``app.API_MODULES``.
"""

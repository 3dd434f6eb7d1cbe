"""ScreenshotOne adapter: GET /take with response_type=json returns a hosted screenshot URL.

Docs: https://screenshotone.com/docs/getting-started/ (access key in the X-Access-Key header,
options as query parameters; errors are JSON with error_code and error_message).
"""

from __future__ import annotations

from typing import Any

import httpx

from revline.leads.enrich.adapters.base import AdapterResult, api_get, error_result, json_body

VIEWPORT = (1280, 800)


class ScreenshotOneAdapter:
    """Takes a homepage screenshot so reps and mockups can see the site without visiting it."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, access_key: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.access_key = access_key

    async def screenshot(self, url: str) -> AdapterResult:
        """Hosted screenshot URL and metadata for url, or an error dict."""
        params: dict[str, Any] = {
            "url": url,
            "format": "jpg",
            "viewport_width": VIEWPORT[0],
            "viewport_height": VIEWPORT[1],
            "block_ads": "true",
            "block_cookie_banners": "true",
            "cache": "true",
            "response_type": "json",
        }
        response = await api_get(
            self.client,
            f"{self.base_url}/take",
            params=params,
            headers={"x-access-key": self.access_key},
            secret=self.access_key,
        )
        if isinstance(response, dict):
            return response
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            message = ""
            if isinstance(body, dict):
                message = str(body.get("error_message") or body.get("error_code") or "")
            return error_result(
                f"ScreenshotOne HTTP {response.status_code}: {message}".rstrip(": "),
                self.access_key,
                http_status=response.status_code,
            )
        shot = body.get("screenshot_url") or body.get("cache_url")
        if not isinstance(shot, str) or not shot:
            return error_result("ScreenshotOne returned no screenshot_url", self.access_key)
        return {
            "status": "ok",
            "url": shot.replace(self.access_key, "***"),
            "format": "jpg",
            "viewport": f"{VIEWPORT[0]}x{VIEWPORT[1]}",
            "page_url": url,
        }

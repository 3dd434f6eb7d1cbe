"""SEMrush adapter: the domain_ranks report (rank, organic keywords and traffic) for a domain.

Docs: https://developer.semrush.com/api/v3/analytics/domain-reports/ -- answers are
semicolon-separated text with a header row, or a line like "ERROR 50 :: NOTHING FOUND".
"""

from __future__ import annotations

import httpx

from revline.leads.enrich.adapters.base import AdapterResult, api_get, error_result

EXPORT_COLUMNS = "Db,Dn,Rk,Or,Ot,Oc,Ad,At,Ac"
HEADERS = {
    "Database": "database",
    "Domain": "domain",
    "Rank": "rank",
    "Organic Keywords": "organic_keywords",
    "Organic Traffic": "organic_traffic",
    "Organic Cost": "organic_cost",
    "Adwords Keywords": "adwords_keywords",
    "Adwords Traffic": "adwords_traffic",
    "Adwords Cost": "adwords_cost",
}


def _number(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


class SemrushAdapter:
    """Search visibility of a domain, for tier-3 SEO prospects."""

    def __init__(
        self, client: httpx.AsyncClient, base_url: str, api_key: str, database: str = "us"
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.database = database

    async def domain_ranks(self, domain: str) -> AdapterResult:
        """Rank and organic keywords/traffic for domain; status not_found when SEMrush has none."""
        params = {
            "type": "domain_ranks",
            "key": self.api_key,
            "domain": domain,
            "database": self.database,
            "export_columns": EXPORT_COLUMNS,
        }
        response = await api_get(
            self.client, f"{self.base_url}/", params=params, secret=self.api_key
        )
        if isinstance(response, dict):
            return response
        text = response.text.strip()
        if text.startswith("ERROR"):
            if "NOTHING FOUND" in text.upper():
                return {"status": "not_found", "domain": domain}
            return error_result(f"SEMrush: {text}", self.api_key, http_status=response.status_code)
        if response.status_code != 200:
            return error_result(
                f"SEMrush HTTP {response.status_code}",
                self.api_key,
                http_status=response.status_code,
            )
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            return {"status": "not_found", "domain": domain}
        header = [h.strip() for h in lines[0].split(";")]
        values = [v.strip() for v in lines[1].split(";")]
        out: AdapterResult = {"status": "ok"}
        for name, value in zip(header, values, strict=False):
            out[HEADERS.get(name, name.lower().replace(" ", "_"))] = _number(value)
        out.setdefault("domain", domain)
        return out

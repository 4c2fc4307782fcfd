"""The administrative units a report may name, for the form and API users: GET
/api/v1/places/provinces and /api/v1/places/provinces/{code}/communes (cacheable for a day)."""

from __future__ import annotations

import hashlib

from aiohttp import web
from pydantic import BaseModel, Field

from services.common import geography
from services.common.geography import GEOGRAPHY_VERSION

MAX_AGE_SECONDS = 86400
# The data change only with the package version, so the version is the validator of every list.
ETAG = f'"{hashlib.sha256(GEOGRAPHY_VERSION.encode()).hexdigest()[:20]}"'
CACHE_HEADERS = {"Cache-Control": f"public, max-age={MAX_AGE_SECONDS}", "ETag": ETAG}


class ProvinceOut(BaseModel):
    """A province or centrally-run city."""

    code: str = Field(description='GSO code, two digits ("01").')
    name: str = Field(description='Official name ("Thành phố Hà Nội").')
    short_name: str = Field(description='Name without "Thành phố" ("Hà Nội").')


class CommuneOut(BaseModel):
    """A commune, ward or special zone."""

    code: str = Field(description='GSO code, five digits ("00070").')
    name: str = Field(description='Official name ("Phường Hoàn Kiếm").')
    short_name: str = Field(description='Name without "Xã", "Phường", "Đặc khu" ("Hoàn Kiếm").')


class ProvinceList(BaseModel):
    """The 34 provinces, in Vietnamese alphabetical order."""

    version: str = Field(description="The geography data: package, version, data date.")
    provinces: list[ProvinceOut]


class CommuneList(BaseModel):
    """A province's communes, wards and special zones, in Vietnamese alphabetical order."""

    version: str = Field(description="The geography data: package, version, data date.")
    province: ProvinceOut
    communes: list[CommuneOut]


def _province_out(province: geography.Province) -> ProvinceOut:
    return ProvinceOut(code=province.code, name=province.name, short_name=province.short_name)


def _cached(request: web.Request, body: BaseModel) -> web.Response:
    """The body with cache headers, or 304 when the client's copy is current."""
    held = {
        tag.strip().removeprefix("W/")
        for tag in request.headers.get("If-None-Match", "").split(",")
    }
    if ETAG in held or "*" in held:  # If-None-Match compares weakly (RFC 9110, 13.1.2)
        return web.Response(status=304, headers=CACHE_HEADERS)
    return web.json_response(body.model_dump(mode="json"), headers=CACHE_HEADERS)


async def list_provinces(request: web.Request) -> web.Response:
    """GET /api/v1/places/provinces: every province with its code."""
    provinces = [_province_out(p) for p in geography.provinces()]
    return _cached(request, ProvinceList(version=GEOGRAPHY_VERSION, provinces=provinces))


async def list_communes(request: web.Request) -> web.Response:
    """GET /api/v1/places/provinces/{code}/communes: a province's communes, or 404."""
    province = geography.province(request.match_info["code"])
    if province is None:
        raise web.HTTPNotFound(reason="no province with this code")
    communes = [
        CommuneOut(code=c.code, name=c.name, short_name=c.short_name)
        for c in geography.communes(province.code)
    ]
    body = CommuneList(
        version=GEOGRAPHY_VERSION, province=_province_out(province), communes=communes
    )
    return _cached(request, body)


def add_places_routes(app: web.Application) -> None:
    """Register the places endpoints."""
    app.router.add_get("/api/v1/places/provinces", list_provinces)
    app.router.add_get("/api/v1/places/provinces/{code}/communes", list_communes)

"""The views the tests drive: a CSRF-protected form, an upload saved to MEDIA_ROOT, two kinds of streaming."""

import hashlib
from collections.abc import Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt


def comment(request: HttpRequest) -> HttpResponse:
    # CsrfViewMiddleware has already refused a POST without a valid token (403) before this runs.
    if request.method == "POST":
        return JsonResponse({"accepted": request.POST["text"]})
    return render(request, "comment.html")


@csrf_exempt  # an API endpoint for the upload test; the CSRF test is the form above
def upload(request: HttpRequest) -> HttpResponse:
    received = request.FILES["file"]
    digest = hashlib.sha256()
    for chunk in received.chunks():
        digest.update(chunk)
    name = default_storage.save(f"uploads/{received.name}", received)
    path = default_storage.path(name)
    return JsonResponse({"name": name, "size": received.size, "sha256": digest.hexdigest(), "path": path})


def stream(request: HttpRequest, count: int) -> StreamingHttpResponse:
    def lines() -> Iterator[bytes]:
        for index in range(count):
            yield f"chunk {index}\n".encode()

    return StreamingHttpResponse(lines(), content_type="text/plain")


def download(request: HttpRequest, name: str) -> FileResponse:
    path = settings.MEDIA_ROOT / "downloads" / name
    if not path.is_file():
        raise Http404(name)
    return FileResponse(path.open("rb"), content_type="application/octet-stream")

import hashlib
import os
import socket

from django.http import Http404, HttpResponse, JsonResponse


def health(request):
    """What the ALB target groups check, through nginx: the whole request path works."""
    return HttpResponse("ok\n", content_type="text/plain")


def index(request):
    return JsonResponse({
        "app": "ecs-bluegreen sample",
        "host": socket.gethostname(),
        "version": os.environ.get("APP_VERSION", "dev"),
    })


def cpu(request):
    """CPU-bound work for load experiments (cmd/stress local): PBKDF2 rounds, capped.
    Off unless DJANGO_CPU_ENDPOINT=1, so a deployed app does not offer it."""
    if os.environ.get("DJANGO_CPU_ENDPOINT") != "1":
        raise Http404("not enabled")
    try:
        rounds = min(max(int(request.GET.get("rounds", "20000")), 1), 1_000_000)
    except ValueError:
        rounds = 20000
    digest = hashlib.pbkdf2_hmac("sha256", b"ecs-bluegreen", b"replica", rounds).hex()
    return JsonResponse({"rounds": rounds, "digest": digest[:16]})

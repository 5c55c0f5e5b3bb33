"""The portal's home page: the headline of the SME share and the latest processes."""

from django.shortcuts import render

from ..queries import latest_processes, portal_headline


def home(request):
    return render(
        request,
        "procurement/home.html",
        {"headline": portal_headline(), "latest": latest_processes()},
    )

"""{% fixed_url %} (the navigation's links) is {% url %} for URLs without arguments, under
any script prefix."""

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

NAMES = ["home", "procurement:process_list", "accounts:login", "set_language", "health"]


@pytest.fixture
def prefix():
    yield set_script_prefix
    set_script_prefix("/")


@pytest.mark.parametrize("script_prefix", ["/", "/portal/"])
def test_a_fixed_url_is_the_url_tags(prefix, script_prefix):
    prefix(script_prefix)
    for name in NAMES:
        fixed = Template(f"{{% load fixed_urls %}}{{% fixed_url '{name}' %}}").render(Context())
        assert fixed == Template(f"{{% url '{name}' %}}").render(Context()) == reverse(name)
        assert fixed.startswith(script_prefix)

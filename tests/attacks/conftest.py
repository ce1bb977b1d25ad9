"""The harness and the case modules assert inside helpers: let pytest explain their failures."""

import pytest

pytest.register_assert_rewrite("tests.attacks.harness", "tests.attacks.cases")

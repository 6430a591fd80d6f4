"""Django's error reports (the DEBUG page, mail_admins) without the individual number."""

from __future__ import annotations

from typing import Any

from django.views.debug import SafeExceptionReporterFilter

from .masking import is_number_shaped


class MaskingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's error reports (the DEBUG page, mail_admins) without the number: every POST
    value and every frame variable that looks like one, or is named for one, is cleansed."""

    def get_post_parameters(self, request: Any) -> Any:
        parameters = super().get_post_parameters(request)
        if request is None or not hasattr(parameters, "items"):
            return parameters
        cleansed = parameters.copy()
        for name, value in parameters.items():
            if "individual_number" in name or is_number_shaped(str(value)):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def cleanse_special_types(self, request: Any, value: Any) -> Any:
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str | bytes) and is_number_shaped(
            value if isinstance(value, str) else value.decode("utf-8", "replace")
        ):
            return self.cleansed_substitute
        return value

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (
                name,
                self.cleansed_substitute
                if "individual_number" in name or is_number_shaped(repr(value))
                else value,
            )
            for name, value in variables
        ]

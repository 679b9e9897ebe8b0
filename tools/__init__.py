"""Tools of the checkout, not shipped in the package: the demo, the SMTP sink of the tests
and the demo, the screenshots and their Chromium driver. A package so that the tests can
``from tools.smtp_sink import SmtpSink``; the scripts also run by path."""

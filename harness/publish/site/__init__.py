"""The static leaderboard site: pages, plots and exports rendered from ranked boards and result records.

`harness.publish.site.build.build_site` is pure and returns {relative path: text or bytes}; `write_site` writes it.
"""

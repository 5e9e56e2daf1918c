"""Feeds: contracts (assets_config/feeds/*.yaml), readers for xlsx/csv landing files, typing."""

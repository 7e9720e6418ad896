"""Views: how results reach people (terminal tables) and machines (csv, json, xlsx)."""

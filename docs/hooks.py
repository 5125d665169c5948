"""mkdocs hook: one docs page per game, generated from the game module's docstring.

The module docstring of ``palaestra.envs.<game>_v<N>`` is the page; several ids that share a
module (variants) share its page.
"""

from __future__ import annotations

from mkdocs.structure.files import File, Files


def _game_pages() -> dict[str, tuple[list[str], str]]:
    from palaestra.envs import list_envs, spec

    pages: dict[str, tuple[list[str], str]] = {}
    for env_id in list_envs():
        s = spec(env_id)
        ids, _ = pages.setdefault(s.module, ([], s.load().__doc__ or ""))
        ids.append(env_id)
    return pages


def _markdown(ids: list[str], doc: str) -> str:
    from palaestra.envs import spec

    title, _, body = doc.strip().partition("\n")
    rows = "\n".join(
        f"| `{i}` | `{spec(i).gym_id}` | {', '.join(spec(i).make_game().info.roles)} |" for i in ids
    )
    return (
        f"# {title.strip()}\n\n| env id | Gymnasium id | roles |\n|---|---|---|\n{rows}\n\n"
        f"{body.strip()}\n"
    )


def _slug(module: str) -> str:
    return module.rsplit(".", 1)[1]


def on_files(files: Files, config) -> Files:
    for module, (ids, doc) in sorted(_game_pages().items()):
        files.append(
            File.generated(config, f"games/{_slug(module)}.md", content=_markdown(ids, doc))
        )
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    if "{{ games_table }}" not in markdown:
        return markdown
    from palaestra.envs import list_envs, spec

    rows = ["| env id | Gymnasium id | roles | description |", "|---|---|---|---|"]
    for env_id in list_envs():
        s = spec(env_id)
        info = s.make_game().info
        link = f"[`{env_id}`](games/{_slug(s.module)}.md)"
        rows.append(f"| {link} | `{s.gym_id}` | {', '.join(info.roles)} | {info.description} |")
    return markdown.replace("{{ games_table }}", "\n".join(rows))


def on_config(config):
    for section in config["nav"]:
        if isinstance(section, dict) and "Games" in section:
            for module, (ids, doc) in sorted(_game_pages().items()):
                title = doc.strip().partition("\n")[0].split(":")[0].strip() or ids[0]
                section["Games"].append({title: f"games/{_slug(module)}.md"})
    return config

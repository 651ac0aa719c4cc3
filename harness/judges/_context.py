"""The research input as a judge sees it: the query, and retrieval-context chunks."""

from __future__ import annotations

from typing import Any


def judge_input(research: dict[str, Any]) -> str:
    """What the conclusion was asked to answer: the main query and the sub-questions."""
    questions = "\n".join(f"- {q}" for q in research.get("sub_questions") or [])
    return f"Main query: {research.get('main_query', '')}\nSub-questions:\n{questions}"


def retrieval_chunks(research: dict[str, Any]) -> list[str]:
    """One chunk per synthesized answer, per viewpoint and per gap list, so unsupported claims
    are found against specific evidence rather than one giant string."""
    chunks = []
    for question, entry in (research.get("enhanced_info") or {}).items():
        if not isinstance(entry, dict):
            continue
        chunks.append(f"Answer to '{question}' (confidence: {entry.get('confidence_level', 'unstated')}): "
                      f"{entry.get('synthesized_answer', '')}")
        if entry.get("information_gaps"):
            chunks.append(f"Information gaps for '{question}': {entry['information_gaps']}")
    viewpoints = research.get("viewpoint_analysis") or {}
    if viewpoints.get("main_points_of_agreement"):
        chunks.append("Points of agreement: " + " ".join(viewpoints["main_points_of_agreement"]))
    for tension in viewpoints.get("areas_of_tension") or []:
        for perspective, view in (tension.get("viewpoints") or {}).items():
            chunks.append(f"{perspective} viewpoint on '{tension.get('topic', '')}': {view}")
    for key, label in (("perspective_gaps", "Perspective gaps"), ("integrative_insights", "Integrative insights")):
        if viewpoints.get(key):
            chunks.append(f"{label}: {viewpoints[key]}")
    reflection = research.get("reflection_metadata") or {}
    if reflection.get("critique_summary"):
        chunks.append("Critique of the research: " + " ".join(reflection["critique_summary"]))
    return chunks

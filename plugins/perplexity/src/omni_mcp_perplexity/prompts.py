"""Default prompts (templates, so organizations can override or hide them): research, analysis, fact check."""

from __future__ import annotations

from omni_mcp import Prompt, PromptArgument

RESEARCH_WORKFLOW = """\
Research this topic thoroughly: {topic}
Audience and purpose: {audience}
Depth wanted: {depth}

Work in steps with the Perplexity tools:
1. Scope: with perplexity_search, find recent, authoritative sources and note the sub-questions they raise.
2. Answer each sub-question with perplexity_ask (use search_recency_filter for fast-moving subjects and
   search_domain_filter to favour primary sources).
3. If the depth is "deep", or the evidence conflicts, run perplexity_research on the open questions.
4. Where there are competing options or positions, put them side by side with perplexity_compare.
5. Write the result: a summary of three to five sentences, the key findings with [n] citations, points of
   disagreement or uncertainty, and the open questions.
Cite every factual claim; say plainly when the sources are thin or old. Earlier results of this
organization are in the resource perplexity://knowledge-base.
"""

ANALYSIS = """\
Analyse: {subject}
Question to answer: {question}
Criteria or angle: {criteria}

1. Gather facts with perplexity_ask and perplexity_search; prefer primary sources and note their dates.
2. Reason through the evidence with perplexity_reason (strip_thinking: true): causes, trade-offs, risks.
3. If alternatives are involved, compare them with perplexity_compare on the criteria above.
4. Conclude with: the answer to the question, the strongest evidence for it ([n] citations), the strongest
   evidence against it, and how confident you are and why.
"""

FACT_CHECK = """\
Fact-check this claim: {claim}
Context in which it was made: {context}

1. Search for the original source and for independent confirmations or refutations with perplexity_search
   (and search_mode "academic" for scientific claims).
2. Ask perplexity_reason (strip_thinking: true) to weigh the evidence.
3. Verdict: true, mostly true, mixed, mostly false, false, or unverifiable - with the decisive sources as
   [n] citations and one paragraph explaining why.
"""

PROMPTS = [
    Prompt(
        "perplexity_research_workflow",
        "Research a topic step by step with Perplexity: scope, answer, deepen, compare, report with sources",
        (
            PromptArgument("topic", "What to research", required=True),
            PromptArgument(
                "audience", "Who the result is for and why (optional)", default="a general, informed reader"
            ),
            PromptArgument("depth", "quick, standard or deep (optional)", default="standard"),
        ),
        template=RESEARCH_WORKFLOW,
        title="Research workflow",
    ),
    Prompt(
        "perplexity_analysis",
        "Analyse a subject with evidence from Perplexity and reach a reasoned, cited conclusion",
        (
            PromptArgument("subject", "What to analyse", required=True),
            PromptArgument(
                "question",
                "The question the analysis must answer (optional)",
                default="what matters most about it, and why",
            ),
            PromptArgument(
                "criteria", "Criteria or angle to analyse from (optional)", default="your choice; say which"
            ),
        ),
        template=ANALYSIS,
        title="Evidence-based analysis",
    ),
    Prompt(
        "perplexity_fact_check",
        "Check a claim against sources found by Perplexity and give a cited verdict",
        (
            PromptArgument("claim", "The claim to check", required=True),
            PromptArgument("context", "Where or by whom it was made (optional)", default="not given"),
        ),
        template=FACT_CHECK,
        title="Fact check",
    ),
]

"""PubMed XML (E-utilities ``efetch`` / "Send to: XML"): ``PubmedArticleSet`` with ``PubmedArticle`` and
``PubmedBookArticle`` elements.

Parsed with :mod:`defusedxml` (no entity-expansion attacks). Inline markup (``<i>``, ``<sup>``, MathML) is
flattened to its text; structured abstracts keep their section labels (``BACKGROUND: ...``), one per line.
The complete article element is kept as XML text in ``raw`` so nothing is lost.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import ElementTree as SafeET

from synth.errors import InputError
from synth.importers.common import (
    clean,
    normalise_doi,
    normalise_pmcid,
    normalise_pmid,
    parse_author,
    parse_year,
    split_issns,
    unique,
)
from synth.records.model import Author, Provenance, Record

__all__ = ["article_to_record", "parse_pubmed_xml"]

ARTICLE_TAGS = ("PubmedArticle", "PubmedBookArticle")


def _text(el: ET.Element | None) -> str:
    """All text inside ``el`` (inline markup flattened), whitespace collapsed."""
    if el is None:
        return ""
    return clean("".join(el.itertext()))


def _find_text(el: ET.Element, path: str) -> str:
    return _text(el.find(path))


def parse_pubmed_xml(data: bytes, *, source: str = "PubMed", file: str = "") -> list[Record]:
    """Every ``PubmedArticle`` and ``PubmedBookArticle`` in a PubMed XML document, in document order.

    Raises :class:`~synth.errors.InputError` when the bytes are not well-formed XML.
    """
    try:
        root = SafeET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(
            f"{file or 'PubMed XML'}: not well-formed XML ({exc}). Check that the file is a complete "
            "efetch response (retmode=xml)."
        ) from exc
    except Exception as exc:  # defusedxml's DTDForbidden / EntitiesForbidden and friends
        raise InputError(f"{file or 'PubMed XML'}: refused unsafe XML ({type(exc).__name__}: {exc}).") from exc
    elements = [root] if root.tag in ARTICLE_TAGS else [el for el in root.iter() if el.tag in ARTICLE_TAGS]
    return [
        article_to_record(el, source=source, file=file, record_number=n) for n, el in enumerate(elements, 1)
    ]


def _abstract(container: ET.Element | None) -> str:
    if container is None:
        return ""
    abstract = container.find("Abstract")
    if abstract is None:
        return ""
    parts: list[str] = []
    for section in abstract.findall("AbstractText"):
        text = _text(section)
        label = section.get("Label")
        if label and text:
            parts.append(f"{label}: {text}")
        elif text:
            parts.append(text)
    return "\n".join(parts)


def _authors(author_list: ET.Element | None) -> list[Author]:
    authors: list[Author] = []
    if author_list is None:
        return authors
    for el in author_list.findall("Author"):
        collective = _find_text(el, "CollectiveName")
        if collective:
            authors.append(Author(corporate=collective))
            continue
        family = _find_text(el, "LastName")
        given = _find_text(el, "ForeName") or _find_text(el, "Initials")
        if family:
            authors.append(Author(family=family, given=given))
        else:
            parsed = parse_author(_text(el))
            if parsed:
                authors.append(parsed)
    return authors


def _ids(el: ET.Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for id_el in el.iter("ArticleId"):
        kind = (id_el.get("IdType") or "").lower()
        value = _text(id_el)
        if kind and value and kind not in found:
            found[kind] = value
    for loc in el.iter("ELocationID"):
        kind = (loc.get("EIdType") or "").lower()
        value = _text(loc)
        if kind and value and kind not in found:
            found[kind] = value
    return found


def _year(pub_date: ET.Element | None) -> int | None:
    if pub_date is None:
        return None
    return parse_year(_find_text(pub_date, "Year")) or parse_year(_find_text(pub_date, "MedlineDate"))


def article_to_record(el: ET.Element, *, source: str = "PubMed", file: str = "", record_number: int | None = None) -> Record:
    """Map one ``PubmedArticle`` or ``PubmedBookArticle`` element to a :class:`Record`."""
    ids = _ids(el)
    keywords = [_text(k) for k in el.iter("Keyword")]
    mesh = []
    for heading in el.iter("MeshHeading"):
        descriptor = _find_text(heading, "DescriptorName")
        if descriptor:
            mesh.append(descriptor)
    fields: dict[str, Any]
    if el.tag == "PubmedBookArticle" or el.find("BookDocument") is not None:
        doc = el.find("BookDocument")
        doc = doc if doc is not None else el
        book = doc.find("Book")
        book_title = _find_text(book, "BookTitle") if book is not None else ""
        title = _find_text(doc, "ArticleTitle") or book_title
        authors = _authors(doc.find("AuthorList"))
        if not authors and book is not None:
            authors = _authors(book.find("AuthorList"))
        fields = {
            "title": title,
            "abstract": _abstract(doc),
            "authors": authors,
            "year": _year(book.find("PubDate") if book is not None else None),
            "journal": book_title if title != book_title else _find_text(doc, "Book/CollectionTitle"),
            "pmid": normalise_pmid(_find_text(doc, "PMID")),
            "language": _find_text(doc, "Language"),
            "publication_type": "; ".join(unique(_text(p) for p in doc.findall("PublicationType"))) or "Book",
            "issns": split_issns(_text(i) for i in doc.iter("Isbn")),
        }
    else:
        citation = el.find("MedlineCitation")
        citation = citation if citation is not None else el
        article = citation.find("Article")
        article = article if article is not None else citation
        journal = article.find("Journal")
        issue_el = journal.find("JournalIssue") if journal is not None else None
        pages = _find_text(article, "Pagination/MedlinePgn")
        if not pages:
            start, end = _find_text(article, "Pagination/StartPage"), _find_text(article, "Pagination/EndPage")
            pages = f"{start}-{end}" if start and end else start
        year = _year(issue_el.find("PubDate") if issue_el is not None else None)
        if year is None:
            year = parse_year(_find_text(article, "ArticleDate/Year"))
        issns = split_issns(_text(i) for i in article.iter("ISSN"))
        issns += [i for i in split_issns([_find_text(citation, "MedlineJournalInfo/ISSNLinking")]) if i not in issns]
        fields = {
            "title": _find_text(article, "ArticleTitle") or _find_text(article, "VernacularTitle"),
            "abstract": _abstract(article),
            "authors": _authors(article.find("AuthorList")),
            "year": year,
            "journal": _find_text(journal, "Title") if journal is not None else "",
            "volume": _find_text(issue_el, "Volume") if issue_el is not None else "",
            "issue": _find_text(issue_el, "Issue") if issue_el is not None else "",
            "pages": pages,
            "pmid": normalise_pmid(_find_text(citation, "PMID")),
            "language": "; ".join(unique(_text(x) for x in article.findall("Language"))),
            "publication_type": "; ".join(unique(_text(p) for p in article.iter("PublicationType"))),
            "issns": issns,
        }
        if not fields["abstract"]:
            other = citation.find("OtherAbstract")
            if other is not None:
                fields["abstract"] = "\n".join(
                    f"{s.get('Label')}: {_text(s)}" if s.get("Label") else _text(s)
                    for s in other.findall("AbstractText")
                )
    pmid = fields.pop("pmid") or normalise_pmid(ids.get("pubmed"))
    return Record(
        doi=normalise_doi(ids.get("doi")),
        pmid=pmid,
        pmcid=normalise_pmcid(ids.get("pmc")),
        keywords=unique([*keywords, *mesh]),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else "",
        provenance=Provenance(source=source, file=file, record_number=record_number, source_record_id=pmid or ""),
        raw={"xml": ET.tostring(el, encoding="unicode")},
        **fields,
    )

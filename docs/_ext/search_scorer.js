// The book's search ranking (conf.py: html_search_scorer).
// Sphinx's default weights, plus two rules for a textbook: a page whose own
// title holds a word of the query comes first, and a chapter that discusses
// it comes before the API entries and gallery sections that share it. A
// gallery section index (which repeats its Part's title) comes last among
// equals.
var Scorer = {
  score: (result) => {
    const [docname, title, , , score] = result;
    const query = (new URLSearchParams(window.location.search).get("q") || "").toLowerCase();
    const words = query.split(/\s+/).filter((w) => w.length > 2);
    let boost = 0;
    const own = (title || "").toLowerCase().split(" > ")[0];
    if (words.some((w) => own.includes(w))) boost += 10;
    if (/^part\d+\/(?!index$)/.test(docname)) boost += 20;
    if (/^gallery\/(.+\/)?index$/.test(docname)) boost -= 10;
    return score + boost;
  },
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};

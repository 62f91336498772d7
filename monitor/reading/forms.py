"""English verb forms for the verdict stage: every form of a verb (``inflect``), the candidate base forms of a
word (``lemmas``), the form a word is in (``form_of``), and the irregular verbs they know (``IRREGULAR``). Pure.
"""

from __future__ import annotations

# Irregular verbs: base -> past, past participle (alternatives with "/").
IRREGULAR = {
    "be": ("was/were", "been"), "have": ("had", "had"), "do": ("did", "done"), "go": ("went", "gone"),
    "get": ("got", "got/gotten"), "make": ("made", "made"), "take": ("took", "taken"), "give": ("gave", "given"),
    "keep": ("kept", "kept"), "find": ("found", "found"), "break": ("broke", "broken"), "shoot": ("shot", "shot"),
    "catch": ("caught", "caught"), "steal": ("stole", "stolen"), "send": ("sent", "sent"),
    "draw": ("drew", "drawn"), "leave": ("left", "left"), "eat": ("ate", "eaten"), "win": ("won", "won"),
    "run": ("ran", "run"), "sell": ("sold", "sold"), "buy": ("bought", "bought"), "hold": ("held", "held"),
    "tell": ("told", "told"), "say": ("said", "said"), "pay": ("paid", "paid"), "meet": ("met", "met"),
    "lead": ("led", "led"), "flee": ("fled", "fled"), "hit": ("hit", "hit"), "cut": ("cut", "cut"),
    "put": ("put", "put"), "set": ("set", "set"), "quit": ("quit", "quit"), "become": ("became", "become"),
    "begin": ("began", "begun"), "bring": ("brought", "brought"), "build": ("built", "built"),
    "come": ("came", "come"), "fall": ("fell", "fallen"), "feel": ("felt", "felt"), "fly": ("flew", "flown"),
    "grow": ("grew", "grown"), "hide": ("hid", "hidden"), "know": ("knew", "known"), "lose": ("lost", "lost"),
    "rise": ("rose", "risen"), "see": ("saw", "seen"), "shut": ("shut", "shut"), "sit": ("sat", "sat"),
    "spend": ("spent", "spent"), "speak": ("spoke", "spoken"), "stand": ("stood", "stood"),
    "strike": ("struck", "struck"), "throw": ("threw", "thrown"), "tear": ("tore", "torn"),
    "wear": ("wore", "worn"), "write": ("wrote", "written"), "bite": ("bit", "bitten"), "dig": ("dug", "dug"),
    "drive": ("drove", "driven"), "drink": ("drank", "drunk"), "feed": ("fed", "fed"), "fight": ("fought", "fought"),
    "hear": ("heard", "heard"), "lay": ("laid", "laid"), "lend": ("lent", "lent"), "light": ("lit", "lit"),
    "mean": ("meant", "meant"), "seek": ("sought", "sought"), "sink": ("sank", "sunk"), "slay": ("slew", "slain"),
    "spread": ("spread", "spread"), "stick": ("stuck", "stuck"), "sting": ("stung", "stung"),
    "swear": ("swore", "sworn"), "teach": ("taught", "taught"), "think": ("thought", "thought"),
    "wake": ("woke", "woken"), "withdraw": ("withdrew", "withdrawn"), "undertake": ("undertook", "undertaken"),
    "overtake": ("overtook", "overtaken"), "forbid": ("forbade", "forbidden"), "freeze": ("froze", "frozen"),
    "ride": ("rode", "ridden"), "shake": ("shook", "shaken"), "split": ("split", "split"), "bet": ("bet", "bet"),
    "bid": ("bid", "bid"), "let": ("let", "let"), "read": ("read", "read"), "sleep": ("slept", "slept"),
    "swim": ("swam", "swum"), "sweep": ("swept", "swept"), "wed": ("wed/wedded", "wed/wedded"),
    "understand": ("understood", "understood"), "bear": ("bore", "born/borne"), "blow": ("blew", "blown"),
    "forget": ("forgot", "forgotten"), "forgive": ("forgave", "forgiven"), "hang": ("hung/hanged", "hung/hanged"),
    "sing": ("sang", "sung"), "ring": ("rang", "rung"), "choose": ("chose", "chosen"), "deal": ("dealt", "dealt"),
    "show": ("showed", "shown"), "burn": ("burnt/burned", "burnt/burned"), "spin": ("spun", "spun"),
}

_VOWELS = frozenset("aeiou")
_IRREGULAR_FORMS = {b: tuple(f for part in pp for f in part.split("/")) for b, pp in IRREGULAR.items()}
IRREGULAR_BASE = {f: b for b, forms in _IRREGULAR_FORMS.items() for f in forms}  # past forms -> base


def inflect(base: str, *, spelling: bool = True) -> dict[str, str]:
    """Every form of an English verb -> "base", "s", "ed" or "ing". Unsure spellings give both variants ("open"
    -> opening and openning): a form that never occurs costs nothing. -ise and -ize both count."""
    if not (base.isascii() and base.isalpha()) or len(base) < 2:
        return {base: "base"}
    b, out = base, {base: "base"}
    if spelling and b.endswith(("ise", "ize")) and len(b) > 5:
        alt = b[:-3] + ("ize" if b.endswith("ise") else "ise")
        out.update({k: v for k, v in inflect(alt, spelling=False).items() if k not in out})
    cons_y = b.endswith("y") and b[-2] not in _VOWELS
    out[b[:-1] + "ies" if cons_y else b + "es" if b.endswith(("s", "x", "z", "ch", "sh", "o")) else b + "s"] = "s"
    if b.endswith("ie"):
        ing, ed = [b[:-2] + "ying"], [b + "d"]
    elif b.endswith("e"):
        ing, ed = [b + "ing" if b.endswith(("ee", "ye", "oe")) else b[:-1] + "ing"], [b + "d"]
    elif cons_y:
        ing, ed = [b + "ing"], [b[:-1] + "ied"]
    else:
        ing, ed = [b + "ing"], [b + "ed"]
        # "qu" is a consonant: "acquit" -> acquitted, "equip" -> equipped
        if len(b) >= 3 and b[-1] not in "aeiouwxy" and b[-2] in _VOWELS and (b[-3] not in _VOWELS or b[-4:-2] == "qu"):
            ing.append(b + b[-1] + "ing")
            ed.append(b + b[-1] + "ed")  # "ban" -> banned; "cancel" -> cancelled and canceled
    if b in _IRREGULAR_FORMS:
        ed = list(_IRREGULAR_FORMS[b])
    out.update(dict.fromkeys(ing, "ing"))
    out.update({f: "ed" for f in ed if f not in out or f != b})
    return out


def form_of(word: str) -> str:
    """The form a claim's verb is in: "ed" (past, participle), "ing", "s" or "base"."""
    if (word in IRREGULAR_BASE and word not in _IRREGULAR_FORMS) or (word.endswith("ed") and len(word) > 3):
        return "ed"
    if word.endswith("ing") and len(word) > 5:
        return "ing"
    return "s" if word.endswith("s") and not word.endswith(("ss", "us", "is")) else "base"


def lemmas(word: str) -> set[str]:
    """Candidate base forms of a claim's word; extra candidates only add forms that never occur. An inflected
    word is not its own candidate (else "signed" would also count as a base form)."""
    if word in IRREGULAR_BASE:
        return {IRREGULAR_BASE[word]}
    w, out = word, set()
    if w.endswith("ied"):
        out.add(w[:-3] + "y")
    elif w.endswith("ed") and len(w) > 4:
        out |= {w[:-2], w[:-1]} | ({w[:-3]} if w[-3] == w[-4] else set())
    elif w.endswith("ing") and len(w) > 5:
        out |= {w[:-3], w[:-3] + "e"} | ({w[:-4]} if w[-4] == w[-5] else set())
    elif w.endswith("ies"):
        out.add(w[:-3] + "y")
    elif w.endswith("es"):
        out |= {w[:-2], w[:-1]}
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        out.add(w[:-1])
    return out or {word}

"""Generate ``fraud_transactions.csv``, the example of ``crossover demo --example fraud``.

Synthetic card transactions over 90 days (1 March to 29 May 2024), one row per authorisation,
sorted by time, with a fraud share of about 3 % (2.5 % to 3.5 % for any seed and at least
2,000 rows). The generator is deterministic: the same ``n_rows`` and ``seed`` give the same
table, on any machine (``numpy.random.default_rng`` only, no network).

Run ``python -m crossover.data.examples.make_fraud`` (or this file) to rewrite the bundled CSV.

Why generate rather than use ISLP's ``Default``
-----------------------------------------------
``Default`` (10,000 customers: ``student``, ``balance``, ``income``, ``default``) is one row per
customer with two numbers and a flag: no transaction amounts per row, no time, no merchant text.
A hybrid strategy (a tabular model plus a pre-trained text encoder) would have nothing to read,
and the question the example asks, "does the free text add anything over the columns?", could
not be posed. Public card-fraud sets are either PCA-anonymised (no text either) or too large to
bundle, so we generate a table whose fraud patterns are documented below.

Columns
-------
``transaction_id`` : str
    ``"tx000000"``, ``"tx000001"``, ... in time order; unique. An identifier, not a feature.
``timestamp`` : str
    ``"YYYY-MM-DD HH:MM:SS"`` in the cardholder's home time zone, so a purchase abroad shows at
    the hour it was back home (a dinner in Tokyo lands in the early morning). Rows are sorted by
    it. The hour of day is not a column of its own: it is derivable from the timestamp.
``customer_id`` : str
    ``"C12345"``; about one customer per four rows (3,000 for 12,000 rows), with a skewed number
    of transactions each. Identifier-like, repeated: a high-cardinality categorical at best.
``amount`` : float
    In US dollars, 2 decimals; lognormal per merchant category times a spending level per
    customer (digital goods also at price points such as 0.99 and 4.99).
``merchant_category`` : str
    12 values: grocery, fuel, restaurants, electronics, travel, online_retail, gift_cards,
    digital_goods, pharmacy, clothing, utilities, entertainment.
``merchant_description`` : str
    How the merchant appears on a statement (``"SQ *BLUE BOTTLE COFFEE OAKLAND CA"``,
    ``"AMZN Mktp US*2K4L91"``, ``"STEAM PURCHASE 425-952-2985 WA"``): about ten templates per
    category, filled with store numbers, order references, local business names and cities,
    so that most values are distinct (free text, not a clean categorical).
``channel`` : str
    ``card_present``, ``online`` or ``contactless``; the mix depends on the category.
``country`` : str
    ISO code of where the card was used: the terminal's country in store, the country of the
    buyer's IP address online. ``US`` (the home country of every customer) for about 97 % of
    the rows; travellers (18 % of customers take a trip of 5 to 21 days) and fraud make the rest.
``card_age_days`` : int
    Days since the card in use was issued; about 10 % of customers get a new card between 25
    days before the window and day 85 of it (half of them with a new account).
``customer_avg_amount_30d`` : float
    The customer's average amount over the previous 30 days, 2 decimals, drifting week to week;
    missing (about 3 % of rows) in the first 30 days of a new customer, who has no history yet.
``distance_from_home_km`` : float
    Distance between the cardholder's home and the terminal (card present) or the geolocated IP
    address (online), 1 decimal; missing for about 5 % of rows (no geolocation, VPNs).
``is_fraud`` : int
    1 for a fraudulent transaction (a chargeback confirmed it), else 0.

Fraud patterns (share of the fraud rows)
----------------------------------------
1. **Card testing** (``card_testing``), 25 %. Bursts of 3 to 7 tiny online amounts (0.50 to
   4.99 dollars) at digital-goods and online-retail merchants, 20 seconds to 7 minutes apart, at
   any hour; two thirds of them on cards issued in the last month. Legitimate app-store
   purchases at the same price points keep the amount alone from giving them away.
2. **Account takeover** (``account_takeover``), 25 %. Online (sometimes in-store) electronics,
   gift-card and online-retail purchases of 4 to 15 times the customer's typical amount, from
   abroad for about half of them and usually far from home. Legitimate large electronics and
   travel purchases, and travellers abroad, overlap with them.
3. **Risky merchant descriptors** (``risky_merchant``), 30 %. Purchases at merchants whose
   *names* give them away: descriptors built on "GIFT CARD", "PREPAID", "CRYPTO", "BTC", "WIRE",
   "TOPUP" and "VOUCHER" (``"SWIFT CRYPTO EXCHANGE *8KD2L1"``, ``"EZ TOPUP HUB 4481923"``),
   spread over seven categories, including ordinary-looking ones such as online_retail,
   utilities and travel, so ``merchant_category`` alone cannot separate them. Amounts, channel,
   country and distance look like any domestic online purchase. About 1.6 % of legitimate
   transactions use these merchants too (people do buy crypto and prepaid cards), so fraud is
   frequent there (about 35 %) but not certain. Only the text tells these rows apart: the
   pattern a hybrid can find and a model of the other columns cannot.
4. **Night-time foreign** (``night_foreign``), 12 %. Card-present or contactless purchases
   abroad between midnight and 6 a.m. home time (restaurants, fuel, clothing, electronics,
   entertainment) with a cloned card, thousands of kilometres from home. Travellers' own
   purchases in Europe and Asia fall in the same hours.
5. **Unremarkable** (``unremarkable``), 8 %. A stolen card used like its owner would use it:
   drawn exactly like a legitimate transaction of that customer. No model can find these; they
   keep the ceiling below a perfect score.

Noise beyond these overlaps: 5 % of the rows have their distance missing whatever the label,
and card-testing and account-takeover rows miss it more often (VPNs). No single column ranks the
fraud rows with a ROC-AUC above 0.95; a gradient-boosted model on all columns reaches a PR-AUC
of roughly 0.5 to 0.8, and more with the merchant text than without it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COLUMNS", "FRAUD_PATTERNS", "FRAUD_SHARE_RANGE", "OUTPUT", "generate", "main"]

OUTPUT = Path(__file__).with_name("fraud_transactions.csv")

COLUMNS: tuple[str, ...] = (
    "transaction_id",
    "timestamp",
    "customer_id",
    "amount",
    "merchant_category",
    "merchant_description",
    "channel",
    "country",
    "card_age_days",
    "customer_avg_amount_30d",
    "distance_from_home_km",
    "is_fraud",
)

# Share of the fraud rows per pattern (see the module docstring); they sum to 1.
FRAUD_PATTERNS: dict[str, float] = {
    "card_testing": 0.25,
    "account_takeover": 0.25,
    "risky_merchant": 0.30,
    "night_foreign": 0.12,
    "unremarkable": 0.08,
}
FRAUD_RATE = 0.03
FRAUD_SHARE_RANGE = (0.025, 0.035)

_START = pd.Timestamp("2024-03-01 00:00:00")
_DAYS = 90
_DAY_S = 86_400
_ROWS_PER_CUSTOMER = 4
_NEW_CARD_SHARE = 0.10  # a card issued between 25 days before the start and day 85
_NEW_CUSTOMER_SHARE = 0.055  # of customers: a new account opened with that new card
_HISTORY_DAYS = 30  # a new customer's average is missing for their first 30 days
_TRAVELLER_SHARE = 0.18
_RISKY_LEGIT_SHARE = 0.016  # legitimate transactions at a risky merchant
_DISTANCE_MISSING = 0.05
_TYPICAL_AMOUNT = 38.0

# Relative frequency of each hour (0-23) for legitimate purchases, local time.
_HOURS = np.array(
    [
        1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4.0, 5.0, 5.5, 6.5,
        7.5, 6.5, 6.0, 6.0, 6.5, 7.5, 8.0, 7.5, 6.0, 4.5, 3.0, 2.0,
    ]
)  # fmt: skip
_HOURS = _HOURS / _HOURS.sum()
# Bots and fraudsters abroad keep other hours: flatter, with a night bump.
_FRAUD_HOURS = np.array(
    [
        3.0, 3.5, 3.5, 3.0, 2.5, 2.0, 1.5, 1.5, 2.0, 2.5, 3.0, 3.0,
        3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0,
    ]
)  # fmt: skip
_FRAUD_HOURS = _FRAUD_HOURS / _FRAUD_HOURS.sum()


@dataclass(frozen=True)
class _Category:
    share: float  # of legitimate transactions
    median: float  # median amount in dollars
    sigma: float  # lognormal spread
    channels: tuple[float, float, float]  # card_present, online, contactless
    templates: tuple[str, ...]


_CHANNELS = ("card_present", "online", "contactless")

# Placeholders: {loc} city and state (or city and country abroad), {home} the home city, {st}
# the home state, {nK} K digits, {ref} an order reference, {local} a local business name,
# {app} an app or game title.
_CATEGORIES: dict[str, _Category] = {
    "grocery": _Category(
        0.16,
        45.0,
        0.7,
        (0.55, 0.03, 0.42),
        (
            "SAFEWAY #{n4} {loc}",
            "TRADER JOE S #{n3} {loc}",
            "WHOLEFDS {n5} {loc}",
            "KROGER #{n3} {loc}",
            "SQ *{local} MARKET {loc}",
            "ALDI {n5} {loc}",
            "COSTCO WHSE #{n4} {loc}",
            "PUBLIX #{n4} {loc}",
            "SPROUTS FARMERS MKT#{n3} {loc}",
            "INSTACART*{ref} SAN FRANCISCO CA",
        ),
    ),
    "fuel": _Category(
        0.10,
        42.0,
        0.35,
        (0.75, 0.0, 0.25),
        (
            "SHELL OIL {n8} {loc}",
            "CHEVRON {n6} {loc}",
            "EXXONMOBIL {n8} {loc}",
            "BP#{n7} QPS {loc}",
            "COSTCO GAS #{n4} {loc}",
            "76 - {n6} {loc}",
            "WAWA {n4} {loc}",
            "CIRCLE K # {n5} {loc}",
        ),
    ),
    "restaurants": _Category(
        0.20,
        22.0,
        0.7,
        (0.45, 0.15, 0.40),
        (
            "SQ *{local} {loc}",
            "TST* {local} {loc}",
            "STARBUCKS STORE {n5} {loc}",
            "MCDONALD'S F{n5} {loc}",
            "CHIPOTLE {n4} {loc}",
            "PANERA BREAD #{n6} {loc}",
            "DD *DOORDASH {local} {n3}",
            "UBER *EATS {ref} HELP.UBER.COM CA",
            "GRUBHUB*{local} {n4}",
            "SQ *BLUE BOTTLE COFFEE {loc}",
        ),
    ),
    "electronics": _Category(
        0.04,
        120.0,
        1.0,
        (0.45, 0.45, 0.10),
        (
            "BEST BUY {n8} {loc}",
            "APPLE.COM/US 800-676-2775 CA",
            "APPLE STORE #R{n3} {loc}",
            "MICRO CENTER #{n3} {loc}",
            "NEWEGG INC {ref} CA",
            "B&H PHOTO 800-606-6969 NY",
            "SAMSUNG.COM {ref} NJ",
            "DELL INC {n6} TX",
            "AMZN Mktp US*{ref}",
        ),
    ),
    "travel": _Category(
        0.04,
        260.0,
        0.9,
        (0.20, 0.75, 0.05),
        (
            "UNITED {n13} HOUSTON TX",
            "DELTA AIR {n13} ATLANTA GA",
            "SOUTHWEST {n13} DALLAS TX",
            "MARRIOTT {local} {loc}",
            "HILTON HOTELS {loc}",
            "AIRBNB * HM{ref} SAN FRANCISCO CA",
            "EXPEDIA {n10} EXPEDIA.COM WA",
            "UBER *TRIP {ref} HELP.UBER.COM CA",
            "LYFT *RIDE {ref} SAN FRANCISCO CA",
            "AMTRAK TEL {n10} DC",
        ),
    ),
    "online_retail": _Category(
        0.14,
        38.0,
        0.9,
        (0.0, 1.0, 0.0),
        (
            "AMZN Mktp US*{ref}",
            "Amazon.com*{ref} Amzn.com/bill WA",
            "EBAY O*{n2}-{n5}-{n5}",
            "ETSY.COM - {local} {n4}",
            "TARGET.COM * {n6} MN",
            "WALMART.COM {ref} AR",
            "WAYFAIR*{ref} MA",
            "SHEIN.COM {ref} CA",
            "TEMU.COM {ref} MA",
            "PAYPAL *{local} {n10}",
        ),
    ),
    "gift_cards": _Category(
        0.02,
        50.0,
        0.6,
        (0.35, 0.55, 0.10),
        (
            "STARBUCKS CARD RELOAD {n6} WA",
            "EGIFTER*{ref} NY",
            "GIFTLY*{local} ORDER {n5}",
            "CASHSTAR*{local} EGIFT ME",
            "TANGO CARD INC {ref} WA",
            "BLACKHAWK NETWORK {n4} CA",
        ),
    ),
    "digital_goods": _Category(
        0.07,
        9.0,
        1.0,
        (0.0, 0.97, 0.03),
        (
            "STEAM PURCHASE 425-952-2985 WA",
            "GOOGLE *{app} g.co/helppay#",
            "APPLE.COM/BILL 866-712-7753 CA",
            "PLAYSTATIONNETWORK {ref} CA",
            "MSFT *<E{n9}> MSBILL.INFO WA",
            "NINTENDO CD{n10} WA",
            "SPOTIFY USA {n10} NY",
            "NETFLIX.COM 866-579-7172 CA",
            "ROBLOX.COM 888-858-2569 CA",
            "PATREON* MEMBERSHIP {n6} CA",
        ),
    ),
    "pharmacy": _Category(
        0.05,
        18.0,
        0.8,
        (0.55, 0.05, 0.40),
        (
            "CVS/PHARMACY #{n5} {loc}",
            "WALGREENS #{n5} {loc}",
            "RITE AID {n5} {loc}",
            "GOODRX* {ref} CA",
            "DUANE READE #{n5} {loc}",
        ),
    ),
    "clothing": _Category(
        0.07,
        55.0,
        0.7,
        (0.45, 0.35, 0.20),
        (
            "NORDSTROM #{n4} {loc}",
            "UNIQLO {loc}",
            "H&M {n4} {loc}",
            "ZARA USA {n5} {loc}",
            "OLD NAVY US {n4} {loc}",
            "NIKE.COM {ref} OR",
            "TJMAXX #{n4} {loc}",
            "GAP US {n4} {loc}",
        ),
    ),
    "utilities": _Category(
        0.04,
        85.0,
        0.5,
        (0.0, 0.95, 0.05),
        (
            "PG&E/EZ-PAY {n10} CA",
            "COMCAST CABLE COMM {n10} PA",
            "VERIZON WRLS {n5}-{n2} NJ",
            "AT&T*BILL PAYMENT {n6} TX",
            "T-MOBILE*AUTO PAY {n6} WA",
            "CITY OF {home} UTILITIES",
            "CON ED OF NY {n8} NY",
            "SPECTRUM {n10} MO",
        ),
    ),
    "entertainment": _Category(
        0.07,
        30.0,
        0.8,
        (0.40, 0.40, 0.20),
        (
            "AMC {n4} ONLINE {n5} KS",
            "TICKETMASTER*{local} {ref}",
            "SQ *{local} {loc}",
            "REGAL CINEMAS {n4} {loc}",
            "LIVE NATION*{ref} CA",
            "STUBHUB INC {n10} CA",
            "DAVE & BUSTERS {n4} {loc}",
            "BOWLERO {loc}",
        ),
    ),
}

# In-store descriptors abroad: international chains and card readers of small businesses.
_ABROAD: dict[str, tuple[str, ...]] = {
    "grocery": ("CARREFOUR {n4} {loc}", "LIDL {n4} {loc}", "7-ELEVEN {n5} {loc}"),
    "fuel": ("SHELL {n6} {loc}", "BP {n6} {loc}", "TOTALENERGIES {n6} {loc}"),
    "restaurants": (
        "MCDONALDS {n5} {loc}", "STARBUCKS {n5} {loc}", "SUMUP *{local} {loc}",
        "ZETTLE_*{local} {loc}",
    ),
    "electronics": ("APPLE STORE R{n3} {loc}", "MEDIAMARKT {n3} {loc}"),
    "travel": ("HILTON HOTELS {loc}", "MARRIOTT {local} {loc}", "TAXI {n4} {loc}"),
    "pharmacy": ("BOOTS {n4} {loc}", "FARMACIA {local} {loc}"),
    "clothing": ("ZARA {n4} {loc}", "H&M {n4} {loc}", "UNIQLO {loc}"),
    "entertainment": ("SUMUP *{local} {loc}", "CINEMA {local} {loc}"),
}  # fmt: skip

# The words of pattern 3, and the categories whose merchants use each.
_RISKY_WORDS: dict[str, tuple[str, ...]] = {
    "online_retail": ("GIFT CARD", "VOUCHER", "PREPAID"),
    "digital_goods": ("CRYPTO", "BTC", "TOPUP", "VOUCHER"),
    "gift_cards": ("GIFT CARD", "PREPAID", "VOUCHER"),
    "utilities": ("WIRE", "PREPAID", "TOPUP"),
    "entertainment": ("CRYPTO", "BTC", "VOUCHER"),
    "travel": ("VOUCHER", "PREPAID", "WIRE"),
    "electronics": ("GIFT CARD", "CRYPTO"),
}
# Share of fraud rows of pattern 3 per category (sums to 1).
_RISKY_FRAUD_MIX: dict[str, float] = {
    "online_retail": 0.22,
    "digital_goods": 0.24,
    "gift_cards": 0.16,
    "utilities": 0.12,
    "entertainment": 0.10,
    "travel": 0.08,
    "electronics": 0.08,
}
_RISKY_PREFIXES = (
    "QUICK", "GLOBAL", "EZ", "SWIFT", "PRIME", "NOVA", "APEX", "STAR", "ONE", "FAST",
    "SMART", "CITY", "FIRST", "UNITED", "ZEN",
)  # fmt: skip
_RISKY_NOUNS = (
    "EXCHANGE", "STORE", "HUB", "SERVICES", "ONLINE", "MARKET", "CENTER", "DEPOT", "LTD",
    "PAY", "SHOP", "NOW",
)  # fmt: skip
_RISKY_TAILS = ("*{ref}", "{n7}", "{ref} {st}", "{n4}-{n4}", ".COM {ref}")

_LOCAL_ADJ = (
    "BLUE", "GOLDEN", "LITTLE", "RED", "OLD TOWN", "HAPPY", "LUCKY", "GREEN", "SUNSET",
    "CORNER", "MAIN ST", "HARBOR", "MISSION", "PARK", "RIVER", "ELM", "SILVER", "NORTH",
)  # fmt: skip
_LOCAL_NOUN = (
    "BOTTLE COFFEE", "DRAGON", "TAQUERIA", "BISTRO", "PHO", "BURGER", "BAKERY", "DINER",
    "SUSHI", "PIZZERIA", "NOODLE HOUSE", "CAFE", "DELI", "BREWING", "TAVERN", "THAI",
    "GRILL", "CREAMERY",
)  # fmt: skip
_APPS = (
    "YouTube", "Google One", "Candy Crush", "Clash Royale", "Duolingo", "Tinder", "Disney+",
    "Spotify", "Royal Match", "Monopoly GO", "Pokemon GO", "Audible",
)  # fmt: skip
_US_CITIES = (
    ("OAKLAND", "CA"), ("SAN JOSE", "CA"), ("LOS ANGELES", "CA"), ("SAN DIEGO", "CA"),
    ("SEATTLE", "WA"), ("PORTLAND", "OR"), ("DENVER", "CO"), ("PHOENIX", "AZ"),
    ("AUSTIN", "TX"), ("HOUSTON", "TX"), ("DALLAS", "TX"), ("CHICAGO", "IL"),
    ("MINNEAPOLIS", "MN"), ("DETROIT", "MI"), ("COLUMBUS", "OH"), ("ATLANTA", "GA"),
    ("MIAMI", "FL"), ("ORLANDO", "FL"), ("CHARLOTTE", "NC"), ("RALEIGH", "NC"),
    ("NASHVILLE", "TN"), ("PHILADELPHIA", "PA"), ("PITTSBURGH", "PA"), ("NEW YORK", "NY"),
    ("BROOKLYN", "NY"), ("BOSTON", "MA"), ("BALTIMORE", "MD"), ("RICHMOND", "VA"),
    ("ST LOUIS", "MO"), ("KANSAS CITY", "MO"), ("SALT LAKE CTY", "UT"), ("LAS VEGAS", "NV"),
    ("ALBUQUERQUE", "NM"), ("BOISE", "ID"), ("MADISON", "WI"), ("TAMPA", "FL"),
)  # fmt: skip
# Country: (hours ahead of the cardholder's home time, cities, typical distance in km).
_FOREIGN: dict[str, tuple[int, tuple[str, ...], float]] = {
    "CA": (0, ("TORONTO", "VANCOUVER", "MONTREAL"), 1500.0),
    "MX": (-1, ("CANCUN", "MEXICO CITY", "TULUM"), 2500.0),
    "GB": (5, ("LONDON", "MANCHESTER", "EDINBURGH"), 6000.0),
    "FR": (6, ("PARIS", "NICE", "LYON"), 6500.0),
    "DE": (6, ("BERLIN", "MUNICH", "FRANKFURT"), 7000.0),
    "ES": (6, ("MADRID", "BARCELONA", "SEVILLA"), 6500.0),
    "IT": (6, ("ROMA", "MILANO", "FIRENZE"), 7500.0),
    "NL": (6, ("AMSTERDAM", "ROTTERDAM"), 6500.0),
    "JP": (13, ("TOKYO", "OSAKA", "KYOTO"), 10000.0),
    "RO": (7, ("BUCURESTI", "CLUJ-NAPOCA"), 8000.0),
    "NG": (6, ("LAGOS", "ABUJA"), 9500.0),
    "BR": (2, ("SAO PAULO", "RIO DE JANEIRO"), 8000.0),
    "IN": (10, ("MUMBAI", "BENGALURU"), 13000.0),
    "PH": (13, ("MANILA", "CEBU"), 13000.0),
}
_TRAVEL_COUNTRIES = ("CA", "MX", "GB", "FR", "DE", "ES", "IT", "NL", "JP", "BR")
_TRAVEL_WEIGHTS = np.array([0.18, 0.18, 0.12, 0.1, 0.06, 0.08, 0.1, 0.04, 0.1, 0.04])
_FRAUD_COUNTRIES = ("GB", "NL", "RO", "NG", "BR", "IN", "PH", "MX", "CA", "FR")
_FRAUD_WEIGHTS = np.array([0.12, 0.08, 0.16, 0.14, 0.12, 0.1, 0.1, 0.08, 0.05, 0.05])
_ATO_CATEGORIES = ("electronics", "gift_cards", "online_retail")
_CATEGORY_NAMES = tuple(_CATEGORIES)
_CATEGORY_SHARES = np.array([_CATEGORIES[k].share for k in _CATEGORY_NAMES])
_CATEGORY_SHARES = _CATEGORY_SHARES / _CATEGORY_SHARES.sum()
# Chance that a legitimate purchase in a category of _RISKY_WORDS is at a risky merchant.
_RISKY_IN_CATEGORY = _RISKY_LEGIT_SHARE / sum(_CATEGORIES[k].share for k in _RISKY_WORDS)
_ALNUM = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"))
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_PRICE_POINTS = np.array([0.99, 1.99, 2.99, 4.99, 9.99, 14.99, 19.99])


@dataclass
class _Customers:
    ids: np.ndarray  # str
    weight: np.ndarray  # activity, sums to 1
    scale: np.ndarray  # spending level
    radius: np.ndarray  # km, how far from home they usually shop
    new_card: np.ndarray  # bool, a card issued shortly before or during the window
    issued: np.ndarray  # day the current card was issued (negative: before the start)
    old_issued: np.ndarray  # day the previous card was issued, for replaced cards
    new: np.ndarray  # bool, no 30-day history
    trip: np.ndarray  # (start_day, end_day) or (-1, -1)
    trip_country: list[str]
    city: np.ndarray  # index into _US_CITIES


@dataclass
class _Rows:
    """Column lists, one entry per generated row."""

    t: list[int]
    customer: list[int]
    category: list[str]
    description: list[str]
    channel: list[str]
    country: list[str]
    amount: list[float]
    distance: list[float]
    pattern: list[str]

    @classmethod
    def empty(cls) -> _Rows:
        return cls([], [], [], [], [], [], [], [], [])

    def add(
        self,
        t: int,
        customer: int,
        category: str,
        description: str,
        channel: str,
        country: str,
        amount: float,
        distance: float,
        pattern: str,
    ) -> None:
        self.t.append(t)
        self.customer.append(customer)
        self.category.append(category)
        self.description.append(description)
        self.channel.append(channel)
        self.country.append(country)
        self.amount.append(amount)
        self.distance.append(distance)
        self.pattern.append(pattern)


def _customers(rng: np.random.Generator, n: int) -> _Customers:
    ids = rng.choice(np.arange(10_000, 100_000), size=n, replace=False)
    weight = rng.gamma(1.5, 1.0, size=n)
    new_card = rng.random(n) < _NEW_CARD_SHARE
    age = np.minimum(30 + rng.lognormal(np.log(500.0), 0.8, size=n), 4000).astype(np.int64)
    issued = np.where(new_card, rng.integers(-25, _DAYS - 5, size=n), -age)
    # New customers are a subset of the new cards.
    new = new_card & (rng.random(n) < _NEW_CUSTOMER_SHARE / _NEW_CARD_SHARE)
    travels = rng.random(n) < _TRAVELLER_SHARE
    start = rng.integers(0, _DAYS - 5, size=n)
    length = rng.integers(5, 22, size=n)
    trip = np.where(travels[:, None], np.stack([start, start + length], axis=1), -1)
    countries = rng.choice(len(_TRAVEL_COUNTRIES), size=n, p=_TRAVEL_WEIGHTS)
    return _Customers(
        ids=np.array([f"C{i}" for i in ids]),
        weight=weight / weight.sum(),
        scale=rng.lognormal(0.0, 0.45, size=n),
        radius=rng.lognormal(0.0, 0.5, size=n),
        new_card=new_card,
        issued=issued,
        old_issued=-age,
        new=new,
        trip=trip,
        trip_country=[_TRAVEL_COUNTRIES[c] for c in countries],
        city=rng.integers(0, len(_US_CITIES), size=n),
    )


def _day(rng: np.random.Generator, cust: _Customers, c: int) -> int:
    """A day of the window on which customer ``c`` has an account."""
    first = max(0, int(cust.issued[c])) if cust.new[c] else 0
    return int(rng.integers(first, _DAYS))


def _card_age(cust: _Customers, c: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Age of the card in use: a replaced card's predecessor before the new one was issued."""
    issued = np.where(day >= cust.issued[c], cust.issued[c], cust.old_issued[c])
    age: np.ndarray = (day - issued).astype(np.int64)
    return age


def _digits(rng: np.random.Generator, k: int) -> str:
    return "".join(str(d) for d in rng.integers(0, 10, size=k))


def _fill(template: str, rng: np.random.Generator, loc: str, home: str, state: str) -> str:
    """The template with its placeholders drawn at random."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "loc":
            return loc
        if key == "st":
            return state
        if key == "home":
            return home
        if key == "ref":
            return "".join(rng.choice(_ALNUM, size=int(rng.integers(6, 9))))
        if key == "local":
            adj = _LOCAL_ADJ[int(rng.integers(len(_LOCAL_ADJ)))]
            noun = _LOCAL_NOUN[int(rng.integers(len(_LOCAL_NOUN)))]
            return f"{adj} {noun}"
        if key == "app":
            return _APPS[int(rng.integers(len(_APPS)))]
        return _digits(rng, int(key[1:]))

    return _PLACEHOLDER.sub(one, template)


def _location(rng: np.random.Generator, cust: _Customers, c: int, country: str) -> str:
    """``CITY ST`` near home (now and then another US city), or ``CITY CC`` abroad."""
    if country == "US":
        city = int(cust.city[c]) if rng.random() < 0.85 else int(rng.integers(len(_US_CITIES)))
        return " ".join(_US_CITIES[city])
    cities = _FOREIGN[country][1]
    return f"{cities[int(rng.integers(len(cities)))]} {country}"


def _describe(
    rng: np.random.Generator,
    cust: _Customers,
    c: int,
    category: str,
    channel: str,
    country: str,
    risky: bool,
) -> str:
    home, state = _US_CITIES[int(cust.city[c])]
    loc = _location(rng, cust, c, country)
    if risky:
        words = _RISKY_WORDS[category]
        template = " ".join(
            (
                _RISKY_PREFIXES[int(rng.integers(len(_RISKY_PREFIXES)))],
                words[int(rng.integers(len(words)))],
                _RISKY_NOUNS[int(rng.integers(len(_RISKY_NOUNS)))],
                _RISKY_TAILS[int(rng.integers(len(_RISKY_TAILS)))],
            )
        )
    else:
        # Online purchases show a web descriptor, in-store ones a store with its city.
        templates = _CATEGORIES[category].templates
        if country != "US" and channel != "online":
            templates = _ABROAD.get(category, templates)
        fitting = [x for x in templates if ("{loc}" in x) == (channel != "online")]
        options = fitting or list(templates)
        template = options[int(rng.integers(len(options)))]
    return _fill(template, rng, loc, home, state)


def _amount(rng: np.random.Generator, category: str, scale: float) -> float:
    spec = _CATEGORIES[category]
    if category == "digital_goods" and rng.random() < 0.35:
        return float(rng.choice(_PRICE_POINTS))
    value = spec.median * scale**0.8 * rng.lognormal(0.0, spec.sigma)
    return float(max(value, 0.5))


def _home_distance(rng: np.random.Generator, radius: float, channel: str) -> float:
    if channel == "online":  # IP geolocation: coarse, sometimes a provider hub far away
        return float(rng.lognormal(np.log(15.0), 1.3))
    return float(rng.lognormal(np.log(4.0 * radius), 0.9))


def _abroad_distance(rng: np.random.Generator, country: str) -> float:
    return float(_FOREIGN[country][2] * rng.lognormal(0.0, 0.2))


def _time(rng: np.random.Generator, day: int, hours: np.ndarray, shift: int = 0) -> int:
    hour = (int(rng.choice(24, p=hours)) - shift) % 24
    return day * _DAY_S + hour * 3600 + int(rng.integers(0, 3600))


def _pick_channel(rng: np.random.Generator, category: str) -> str:
    return _CHANNELS[int(rng.choice(3, p=np.array(_CATEGORIES[category].channels)))]


def _legit(rng: np.random.Generator, cust: _Customers, rows: _Rows, c: int, pattern: str) -> None:
    """One transaction of customer ``c`` as they would make it."""
    category = _CATEGORY_NAMES[int(rng.choice(len(_CATEGORY_NAMES), p=_CATEGORY_SHARES))]
    channel = _pick_channel(rng, category)
    day = _day(rng, cust, c)
    start, end = cust.trip[c]
    country, shift = "US", 0
    if start <= day < end:  # on a trip: in-store abroad, and online from abroad
        country = cust.trip_country[c]
        shift = _FOREIGN[country][0]
    risky = category in _RISKY_WORDS and rng.random() < _RISKY_IN_CATEGORY
    description = _describe(rng, cust, c, category, channel, country, risky)
    if country != "US":
        distance = _abroad_distance(rng, country)
    else:
        distance = _home_distance(rng, float(cust.radius[c]), channel)
    rows.add(
        _time(rng, day, _HOURS, shift),
        c,
        category,
        description,
        channel,
        country,
        _amount(rng, category, float(cust.scale[c])),
        distance,
        pattern,
    )


def _card_testing(rng: np.random.Generator, cust: _Customers, rows: _Rows, n: int) -> None:
    new_cards = np.flatnonzero(cust.new_card)
    while n > 0:
        size = min(n, int(rng.integers(3, 8)))
        n -= size
        if rng.random() < 0.67:  # within a month of the card's issue
            c = int(rng.choice(new_cards))
            day = int(np.clip(cust.issued[c] + rng.integers(0, 30), 0, _DAYS - 1))
        else:
            c = int(rng.choice(len(cust.ids), p=cust.weight))
            day = _day(rng, cust, c)
        t = _time(rng, day, _FRAUD_HOURS)
        country = "US" if rng.random() < 0.75 else _FRAUD_COUNTRIES[int(rng.integers(10))]
        if country == "US":
            distance = float(rng.lognormal(np.log(600.0), 1.2))
        else:
            distance = _abroad_distance(rng, country)
        for _ in range(size):
            category = "digital_goods" if rng.random() < 0.6 else "online_retail"
            risky = rng.random() < 0.15
            if rng.random() < 0.4:
                amount = float(rng.choice(_PRICE_POINTS[:4]))
            else:
                amount = float(rng.uniform(0.5, 4.99))
            rows.add(
                t,
                c,
                category,
                _describe(rng, cust, c, category, "online", country, risky),
                "online",
                country,
                amount,
                distance * float(rng.lognormal(0.0, 0.05)),
                "card_testing",
            )
            t += int(rng.integers(20, 420))


def _account_takeover(rng: np.random.Generator, cust: _Customers, rows: _Rows, n: int) -> None:
    for _ in range(n):
        c = int(rng.choice(len(cust.ids), p=cust.weight))
        category = _ATO_CATEGORIES[int(rng.choice(3, p=[0.45, 0.35, 0.2]))]
        in_store = category != "online_retail" and rng.random() < 0.18
        channel = "card_present" if in_store else "online"
        country = "US" if rng.random() < 0.45 else _FRAUD_COUNTRIES[int(rng.integers(10))]
        if country == "US" and rng.random() < 0.35:  # a fraudster near the victim
            distance = _home_distance(rng, float(cust.radius[c]), channel)
        elif country == "US":
            distance = float(rng.lognormal(np.log(1200.0), 0.8))
        else:
            distance = _abroad_distance(rng, country)
        typical = _TYPICAL_AMOUNT * float(cust.scale[c])
        amount = min(typical * float(rng.uniform(4.0, 15.0)), 4000.0)
        risky = category != "electronics" and rng.random() < 0.2
        hours = _FRAUD_HOURS if rng.random() < 0.5 else _HOURS
        rows.add(
            _time(rng, _day(rng, cust, c), hours),
            c,
            category,
            _describe(rng, cust, c, category, channel, country, risky),
            channel,
            country,
            amount,
            distance,
            "account_takeover",
        )


def _risky_merchant(rng: np.random.Generator, cust: _Customers, rows: _Rows, n: int) -> None:
    names = list(_RISKY_FRAUD_MIX)
    mix = np.array(list(_RISKY_FRAUD_MIX.values()))
    for _ in range(n):
        c = int(rng.choice(len(cust.ids), p=cust.weight))
        category = names[int(rng.choice(len(names), p=mix))]
        channel = "online" if rng.random() < 0.85 else _pick_channel(rng, category)
        country = "US" if rng.random() < 0.9 else _FRAUD_COUNTRIES[int(rng.integers(10))]
        rows.add(
            _time(rng, _day(rng, cust, c), _HOURS),
            c,
            category,
            _describe(rng, cust, c, category, channel, country, risky=True),
            channel,
            country,
            _amount(rng, category, float(cust.scale[c])) * float(rng.uniform(1.0, 2.0)),
            _home_distance(rng, float(cust.radius[c]), channel),
            "risky_merchant",
        )


def _night_foreign(rng: np.random.Generator, cust: _Customers, rows: _Rows, n: int) -> None:
    categories = ["restaurants", "fuel", "clothing", "electronics", "entertainment"]
    for _ in range(n):
        c = int(rng.choice(len(cust.ids), p=cust.weight))
        category = categories[int(rng.choice(5, p=[0.3, 0.2, 0.2, 0.15, 0.15]))]
        country = _FRAUD_COUNTRIES[int(rng.choice(10, p=_FRAUD_WEIGHTS))]
        t = _day(rng, cust, c) * _DAY_S + int(rng.integers(0, 6 * 3600))
        channel = "card_present" if rng.random() < 0.6 else "contactless"
        rows.add(
            t,
            c,
            category,
            _describe(rng, cust, c, category, channel, country, risky=False),
            channel,
            country,
            _amount(rng, category, float(cust.scale[c])) * float(rng.uniform(1.0, 2.5)),
            _abroad_distance(rng, country),
            "night_foreign",
        )


def _fraud_counts(n_fraud: int) -> dict[str, int]:
    counts = {k: round(share * n_fraud) for k, share in FRAUD_PATTERNS.items()}
    counts["unremarkable"] = n_fraud - sum(v for k, v in counts.items() if k != "unremarkable")
    return counts


def generate(n_rows: int = 12000, seed: int = 0, *, with_pattern: bool = False) -> pd.DataFrame:
    """Generate the card-transactions table (see the module docstring for its columns).

    Parameters
    ----------
    n_rows : int, default=12000
        Number of rows, at least 100.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``; the same seed gives the same table.
    with_pattern : bool, default=False
        Add a ``fraud_pattern`` column (``"none"`` for legitimate rows), for checking the
        documented shares; it is not part of the bundled file.

    Returns
    -------
    pandas.DataFrame
        The columns of ``COLUMNS`` (plus ``fraud_pattern`` when asked), sorted by time, with
        values rounded as they are written to the CSV.

    Raises
    ------
    ValueError
        When ``n_rows`` is below 100.
    """
    if n_rows < 100:
        raise ValueError(f"n_rows must be at least 100, got {n_rows}")
    rng = np.random.default_rng(seed)
    cust = _customers(rng, max(50, n_rows // _ROWS_PER_CUSTOMER))
    counts = _fraud_counts(round(FRAUD_RATE * n_rows))
    rows = _Rows.empty()
    n_legit = n_rows - sum(counts.values())
    for c in rng.choice(len(cust.ids), size=n_legit, p=cust.weight):
        _legit(rng, cust, rows, int(c), "none")
    _card_testing(rng, cust, rows, counts["card_testing"])
    _account_takeover(rng, cust, rows, counts["account_takeover"])
    _risky_merchant(rng, cust, rows, counts["risky_merchant"])
    _night_foreign(rng, cust, rows, counts["night_foreign"])
    for c in rng.choice(len(cust.ids), size=counts["unremarkable"], p=cust.weight):
        _legit(rng, cust, rows, int(c), "unremarkable")
    return _frame(rng, cust, rows, with_pattern)


def _frame(
    rng: np.random.Generator, cust: _Customers, rows: _Rows, with_pattern: bool
) -> pd.DataFrame:
    n = len(rows.t)
    t = np.clip(np.array(rows.t, dtype=np.int64), 0, _DAYS * _DAY_S - 1)
    c = np.array(rows.customer)
    pattern = np.array(rows.pattern)
    is_fraud = (pattern != "none").astype(np.int64)
    day = t // _DAY_S
    # The 30-day average drifts from week to week around the customer's typical amount.
    drift = rng.lognormal(0.0, 0.12, size=(len(cust.ids), _DAYS // 7 + 1))
    typical = _TYPICAL_AMOUNT * cust.scale[c] * drift[c, day // 7]
    no_history = cust.new[c] & (day - cust.issued[c] < _HISTORY_DAYS)
    avg = np.where(no_history, np.nan, np.round(typical, 2))
    distance = np.round(np.array(rows.distance), 1)
    vpn = np.isin(pattern, ["card_testing", "account_takeover"]) & (rng.random(n) < 0.12)
    distance[(rng.random(n) < _DISTANCE_MISSING) | vpn] = np.nan
    frame = pd.DataFrame(
        {
            "timestamp": (_START + pd.to_timedelta(t, unit="s")).strftime("%Y-%m-%d %H:%M:%S"),
            "customer_id": cust.ids[c],
            "amount": np.round(np.array(rows.amount), 2),
            "merchant_category": rows.category,
            "merchant_description": rows.description,
            "channel": rows.channel,
            "country": rows.country,
            "card_age_days": _card_age(cust, c, day),
            "customer_avg_amount_30d": avg,
            "distance_from_home_km": distance,
            "is_fraud": is_fraud,
            "fraud_pattern": pattern,
        }
    )
    frame = frame.iloc[np.argsort(t, kind="stable")].reset_index(drop=True)
    frame.insert(0, "transaction_id", [f"tx{i:06d}" for i in range(n)])
    if not with_pattern:
        frame = frame.drop(columns="fraud_pattern")
    return frame


def main(argv: Sequence[str] | None = None) -> None:
    """Write the generated table to ``fraud_transactions.csv`` (or ``--out``).

    Parameters
    ----------
    argv : sequence of str or None, default=None
        Command-line arguments (``--rows``, ``--seed``, ``--out``); ``sys.argv`` when None.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    frame = generate(args.rows, args.seed)
    frame.to_csv(args.out, index=False)
    share = frame["is_fraud"].mean()
    print(f"wrote {args.out}: {len(frame):,} rows, fraud share {share:.2%}")


if __name__ == "__main__":
    main()

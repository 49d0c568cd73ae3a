"""Templated Korean sentences: everyday talk and customer-service calls with names, places, times, dates,
amounts and counts filled in, every number spelled out in Hangul.

Hand-written sentences give natural phrasing but few of them; templates multiply the numbers, names and places
a recogniser hears, which is where a small corpus is weakest (a model that has heard 세 시 but never 열한 시 has
not learned to read the clock). Each template makes at most ``PER_TEMPLATE`` distinct sentences, drawn by an RNG
with a fixed seed, so the sentence list is the same on every machine and no single template crowds out others.

Templates are written with slots: ``{name}`` is replaced by a value of the slot ``name``; ``{item:을}`` also
appends the form of the particle that fits the value (``노트북을``, ``가방을``). A digit after the slot name
(``{place2}``) draws a second value of the same slot.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from corpus.hangul import attach
from corpus.numbers_ko import clock, counted, month, phone_digits, sino

TEMPLATE_SEED = 2019
PER_TEMPLATE = 70
_ATTEMPTS_PER_SENTENCE = 20  # give up on a template whose slots cannot make PER_TEMPLATE distinct sentences

SURNAMES = ("김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황",
            "안", "송", "류", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남", "심", "노", "하",
            "곽", "성", "차", "주", "우", "구", "민", "진", "나", "엄", "채", "원", "천", "방", "공", "현",
            "함", "여", "추", "도", "소", "석", "선", "설", "마", "길", "연", "위", "표", "명", "기", "반",
            "왕", "금", "옥", "육", "맹", "모", "탁", "국", "어", "은", "편", "용", "예", "경", "봉", "황보",
            "남궁", "제갈", "선우")
GIVEN_NAMES = ("민준", "서준", "도윤", "예준", "시우", "하준", "주원", "지호", "지후", "준우", "준서", "건우",
               "도현", "현우", "지훈", "우진", "선우", "서진", "민재", "현준", "연우", "유준", "정우", "승우",
               "승현", "시윤", "준혁", "은우", "지환", "승민", "유찬", "윤우", "민성", "준영", "시후", "진우",
               "지원", "수현", "재윤", "동현", "태윤", "서연", "서윤", "지우", "서현", "민서", "하은", "하윤",
               "윤서", "지유", "지민", "채원", "수아", "지아", "은서", "다은", "예은", "수빈", "소율", "예린",
               "하린", "지현", "예원", "유나", "시은", "채은", "유진", "윤아", "민지", "수민", "영희", "철수",
               "영수", "미숙", "정희", "순자", "영호", "성민", "경희", "혜진", "상철", "명숙", "은영", "광수",
               "보람", "한결", "나래", "슬기", "가람", "다솜")
COMPANIES = ("한빛 통신", "새봄 카드", "푸른 은행", "다솜 쇼핑", "하나로 택배", "바른 보험", "늘봄 가스",
             "우리 전력", "미래 증권", "한결 병원", "누리 항공", "온누리 여행사", "햇살 렌터카", "가온 인터넷",
             "별빛 가구")
CITIES = ("서울", "부산", "인천", "대구", "대전", "광주", "울산", "세종", "수원", "성남", "고양", "용인",
          "창원", "청주", "전주", "천안", "안산", "포항", "김해", "제주", "춘천", "강릉", "원주", "여수",
          "목포", "순천", "경주", "안동", "속초", "군산", "진주", "통영", "남원", "공주", "충주", "익산")
STATIONS = ("서울역", "용산역", "강남역", "홍대입구역", "신촌역", "잠실역", "시청역", "종각역", "을지로입구역",
            "사당역", "교대역", "선릉역", "삼성역", "왕십리역", "건대입구역", "신도림역", "영등포역",
            "노량진역", "광화문역", "동대문역", "부산역", "대전역", "동대구역", "광주송정역", "수원역",
            "천안아산역", "오송역", "익산역")
PLACES = ("병원", "약국", "은행", "우체국", "도서관", "편의점", "주민센터", "백화점", "마트", "카페", "식당",
          "학교", "회사", "공원", "주차장", "버스 터미널", "공항", "영화관", "미용실", "세탁소", "시장",
          "헬스장", "수영장", "서점", "빵집", "꽃집", "문구점", "치과", "안과", "경찰서", "소방서", "시청",
          "구청", "대학교", "유치원", "체육관", "박물관", "미술관", "동물원", "놀이공원")
ITEMS = ("노트북", "휴대폰", "이어폰", "충전기", "운동화", "가방", "책상", "의자", "냉장고", "세탁기",
         "에어컨", "텔레비전", "청소기", "전자레인지", "선풍기", "모니터", "키보드", "마우스", "프린터",
         "카메라", "시계", "지갑", "우산", "모자", "티셔츠", "바지", "원피스", "코트", "목도리", "장갑",
         "이불", "베개", "밥솥", "커피 머신", "전기 주전자", "공기청정기", "가습기", "제습기", "태블릿",
         "스피커", "헤드폰", "자전거", "유모차", "캐리어", "안경", "화장품", "향수", "구두", "샌들", "침대")
FOODS = ("김치찌개", "된장찌개", "비빔밥", "불고기", "떡볶이", "김밥", "라면", "냉면", "삼겹살", "치킨",
         "피자", "짜장면", "짬뽕", "칼국수", "만두", "순두부찌개", "갈비탕", "설렁탕", "부대찌개", "제육볶음",
         "돈가스", "볶음밥", "잡채", "해물파전", "감자탕", "닭갈비", "쌀국수", "초밥", "우동", "샐러드",
         "김치볶음밥", "떡국", "콩국수", "비빔국수", "순대국", "육개장", "오므라이스", "카레", "햄버거",
         "샌드위치")
DRINKS = ("아메리카노", "카페라테", "녹차", "우유", "오렌지 주스", "콜라", "사이다", "보리차", "생수", "식혜",
          "유자차", "레몬차", "핫초코", "맥주", "막걸리")
FAMILY = ("동생", "형", "누나", "언니", "오빠", "아들", "딸", "조카", "손녀", "손자", "사촌", "막내")
ANIMALS = ("고양이", "강아지", "토끼", "햄스터", "거북이", "앵무새", "금붕어", "병아리")
HOBBIES = ("수영", "요가", "테니스", "등산", "피아노", "기타", "그림", "독서", "요리", "배드민턴", "탁구",
           "축구", "농구", "볼링", "골프", "자전거", "달리기", "산책", "뜨개질", "사진")
COLORS = ("빨간색", "파란색", "검은색", "흰색", "노란색", "초록색", "회색", "분홍색", "보라색", "갈색",
          "하늘색", "남색", "주황색", "베이지색")
WEEKDAYS = ("월요일", "화요일", "수요일", "목요일", "금요일", "토요일", "일요일")
SERVICES = ("교환", "환불", "반품", "수리", "해지", "가입", "변경", "취소", "재발급", "분실 신고")
DOCUMENTS = ("보고서", "계약서", "견적서", "회의 자료", "신청서", "영수증", "이력서", "기획안", "발표 자료",
             "사진")
WEATHER = ("비가 온대요", "눈이 온대요", "맑대요", "흐리대요", "바람이 많이 분대요", "많이 춥대요",
           "많이 덥대요", "미세먼지가 심하대요", "소나기가 온대요", "안개가 낀대요")


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)


def _amount(rng: random.Random) -> str:
    """A price as people say it: one or two significant digits at the scale of a snack, a meal, a bill or rent."""
    step, low, high = rng.choice(((100, 5, 99), (500, 2, 60), (1000, 1, 99), (10000, 1, 99), (100000, 1, 500)))
    return counted(rng.randint(low, high) * step, "원")


def _time(rng: random.Random) -> str:
    """A time of day with the part of the day that fits the hour (오전 아홉 시, 저녁 일곱 시 반)."""
    period, hours = rng.choice((
        ("오전", range(6, 12)), ("오후", range(1, 7)), ("아침", range(6, 10)), ("저녁", range(5, 10)),
        ("밤", range(8, 12)), ("낮", (12, 1, 2)), ("새벽", range(1, 6)),
    ))
    hour = rng.choice(tuple(hours))
    minute = rng.choice((0, 0, 0, 10, 15, 20, 30, 30, 40, 45, 50, -1))
    spoken = counted(hour, "시") + " 반" if minute == -1 else clock(hour, minute)
    return f"{period} {spoken}"


def _date(rng: random.Random) -> str:
    m = rng.randint(1, 12)
    days = 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31
    return f"{month(m)} {sino(rng.randint(1, days))}일"


def _year(rng: random.Random) -> str:
    return sino(rng.randint(1950, 2030)) + "년"


def _phone(rng: random.Random) -> str:
    middle = rng.randint(0, 9999)
    last = rng.randint(0, 9999)
    return f"공일공 {phone_digits(f'{middle:04d}')} {phone_digits(f'{last:04d}')}"


def _digits(rng: random.Random) -> str:
    """An order or account number read digit by digit, in groups of three or four."""
    groups = [f"{rng.randint(0, 10 ** size - 1):0{size}d}" for size in rng.choice(((4, 4), (3, 4), (3, 3, 4), (6,)))]
    return " ".join(phone_digits(g) for g in groups)


def _relday(rng: random.Random) -> str:
    return rng.choice(("오늘", "내일", "모레", "이번 주 " + rng.choice(WEEKDAYS), "다음 주 " + rng.choice(WEEKDAYS),
                       "이번 주말", "다음 주말"))


def _duration(rng: random.Random) -> str:
    choice = rng.randint(0, 2)
    if choice == 0:
        return counted(rng.choice((5, 10, 15, 20, 30, 40, 50)), "분")
    if choice == 1:
        return counted(rng.randint(1, 5), "시간") + rng.choice(("", " 반"))
    return counted(rng.randint(2, 10), "일")


def _count(counter: str, low: int, high: int) -> Callable[[random.Random], str]:
    return lambda rng: counted(rng.randint(low, high), counter)


SLOTS: dict[str, Callable[[random.Random], str]] = {
    "name": _name,
    "given": lambda rng: rng.choice(GIVEN_NAMES),
    "surname": lambda rng: rng.choice(SURNAMES),
    "company": lambda rng: rng.choice(COMPANIES),
    "city": lambda rng: rng.choice(CITIES),
    "station": lambda rng: rng.choice(STATIONS),
    "place": lambda rng: rng.choice(PLACES),
    "item": lambda rng: rng.choice(ITEMS),
    "food": lambda rng: rng.choice(FOODS),
    "drink": lambda rng: rng.choice(DRINKS),
    "family": lambda rng: rng.choice(FAMILY),
    "animal": lambda rng: rng.choice(ANIMALS),
    "hobby": lambda rng: rng.choice(HOBBIES),
    "color": lambda rng: rng.choice(COLORS),
    "weekday": lambda rng: rng.choice(WEEKDAYS),
    "service": lambda rng: rng.choice(SERVICES),
    "document": lambda rng: rng.choice(DOCUMENTS),
    "weather": lambda rng: rng.choice(WEATHER),
    "amount": _amount,
    "time": _time,
    "date": _date,
    "year": _year,
    "phone": _phone,
    "digits": _digits,
    "relday": _relday,
    "duration": _duration,
    "month": lambda rng: month(rng.randint(1, 12)),
    "age": lambda rng: counted(rng.randint(1, 99), "살"),
    "people": _count("명", 1, 12),
    "things": _count("개", 1, 20),
    "cups": _count("잔", 1, 5),
    "bowls": _count("그릇", 1, 4),
    "books": _count("권", 1, 10),
    "sheets": _count("장", 1, 30),
    "bottles": _count("병", 1, 6),
    "pets": _count("마리", 1, 5),
    "hours": _count("시간", 1, 12),
    "minutes": lambda rng: counted(rng.choice((1, 2, 3, 5, 7, 10, 15, 20, 30)), "분"),
    "days": _count("일", 2, 14),
    "months": _count("개월", 2, 36),
    "years": _count("년", 1, 10),
    "floor": _count("층", 1, 30),
    "room": lambda rng: counted(rng.randint(1, 20) * 100 + rng.randint(1, 20), "호"),
    "exit": _count("번 출구", 1, 12),
    "bus": lambda rng: counted(rng.choice((rng.randint(1, 99), rng.randint(100, 9999))), "번 버스"),
    "window": _count("번 창구", 1, 15),
    "ticket": lambda rng: counted(rng.randint(1, 999), "번"),
    "degrees": _count("도", 1, 38),
    "percent": lambda rng: counted(rng.choice((5, 10, 15, 20, 25, 30, 40, 50, 60, 70)), "퍼센트"),
    "points": lambda rng: counted(rng.randint(1, 500) * 100, "포인트"),
}

TEMPLATES: tuple[str, ...] = (
    # Calls to a customer service line.
    "안녕하세요 {company} 고객센터입니다.",
    "{company} 상담원 {name}입니다 무엇을 도와드릴까요?",
    "{surname} 고객님 주문하신 {item:이} {date}에 도착할 예정입니다.",
    "주문 번호는 {digits}입니다.",
    "{item:을} {service}하고 싶은데요.",
    "{item} {service} 접수가 완료되었습니다.",
    "영업일 기준 {days} 이내에 환불됩니다.",
    "결제 금액은 총 {amount}입니다.",
    "이번 달 요금은 {amount}입니다.",
    "{name} 고객님 본인 확인을 위해 생년월일을 말씀해 주세요.",
    "생년월일은 {year} {date}입니다.",
    "연락 가능한 번호는 {phone}입니다.",
    "제 전화번호는 {phone}이에요.",
    "상담원 연결까지 약 {minutes} 정도 기다려 주세요.",
    "예약하신 날짜는 {date} {time}입니다.",
    "{time}에 {people} 예약 가능할까요?",
    "{item:은} 현재 재고가 {things} 남아 있습니다.",
    "배송지를 {city:으로} 변경해 주세요.",
    "카드 승인 금액이 {amount}인데 맞나요?",
    "{months} 할부로 해 주세요.",
    "현재 적립된 포인트는 {points}입니다.",
    "택배 기사님이 {time}쯤 방문하실 예정입니다.",
    "{relday}까지 {amount:을} 입금해 주시면 됩니다.",
    "{item} 수리 비용은 {amount}입니다.",
    "이 {item:은} {years} 동안 무상 수리가 가능합니다.",
    "{date}까지 {service} 신청이 가능합니다.",
    "{company} 앱에서 {service} 신청을 하실 수 있습니다.",
    "대기 번호 {ticket} 고객님 {window:으로} 와 주세요.",
    "{name} 님 {window:으로} 오세요.",
    "{relday} {time} 이후에 다시 전화 주세요.",
    "계좌 번호는 {digits}입니다.",
    "주차 요금은 {minutes}에 {amount}입니다.",
    "전 품목 {percent} 할인 중입니다.",
    "{item:을} 사시면 {percent} 할인해 드려요.",
    "{amount} 거슬러 드릴게요.",
    "{item} {color:으로} 있나요?",
    "{item:은} {color:이} 제일 잘 팔려요.",
    # Everyday conversation.
    "{given:아} {relday} {time}에 {place}에서 만나자.",
    "{relday} {time}에 {station} 앞에서 만날까요?",
    "{food} {bowls} 주세요.",
    "{drink} {cups}하고 {food} 하나 주세요.",
    "{food:은} 얼마예요?",
    "{item:은} 얼마예요?",
    "{item:은} {amount:이에요}.",
    "저는 {city}에 살아요.",
    "우리 {family:은} {age:이에요}.",
    "{name} 씨는 {place}에서 일해요.",
    "{relday:은} {given}의 생일이에요.",
    "제 생일은 {date:이에요}.",
    "{year}에 {city}에 처음 갔어요.",
    "여기서 {station}까지 얼마나 걸려요?",
    "{place}까지 {duration}쯤 걸려요.",
    "{bus:을} 타세요.",
    "{exit:으로} 나오세요.",
    "{city} 가는 버스는 몇 번이에요?",
    "지금 {time:이에요}.",
    "{weekday}에 시간 괜찮으세요?",
    "{weekday} {time}에 회의가 있어요.",
    "회의실은 {floor}에 있어요.",
    "{room:으로} 와 주세요.",
    "{item:을} {things} 샀어요.",
    "{animal} {pets:를} 키워요.",
    "오늘 {city}의 최고 기온은 {degrees}입니다.",
    "{city}에는 {relday} {weather}.",
    "도서관에서 책을 {books} 빌렸어요.",
    "사진을 {sheets} 뽑아 주세요.",
    "{drink} {bottles}만 사 와 주세요.",
    "{name} 씨 {time}까지 {document} 보내 주세요.",
    "{station}에 도착하면 전화할게요.",
    "{food} 먹으러 갈래요?",
    "{weekday}마다 {hobby:을} 해요.",
    "{surname} 선생님 {time}에 수업 있으세요?",
    "{date:은} 무슨 요일이에요?",
    "{date:은} {weekday:이에요}.",
    "{year} {date}에 태어났어요.",
    "{city}행 열차가 곧 도착합니다.",
    "이번 역은 {station}입니다.",
    "{people:이} 함께 왔어요.",
    "{station}에서 {station2}까지 택시비가 {amount} 나왔어요.",
    "통장에 {amount:을} 입금했어요.",
    "{given} 씨에게 {amount:을} 보냈어요.",
    "{surname} 팀장님이 {time}에 회의실로 오시래요.",
    "저는 {year}부터 {city}에서 살았어요.",
    "한 달에 {amount} 정도 써요.",
    "{item:이} 고장 나서 수리를 맡겼어요.",
    "{month}에 {city:으로} 여행 가요.",
    "{family:이} {time}에 데리러 온대요.",
    "{hours} 동안 {hobby:을} 했어요.",
    "{place:은} {time}에 문을 열어요.",
    "{place:은} {weekday}에 쉬어요.",
    "비행기는 {time}에 출발해요.",
    "{duration} 뒤에 다시 확인해 볼게요.",
    "{relday} {city}에 {weather}.",
    "{given:아} {food} 먹을래?",
    "{name} 님 {place}에서 기다리고 있어요.",
)

_SLOT = re.compile(r"\{([a-z_]+?)(\d*)(?::([^}]+))?\}")


def fill(template: str, rng: random.Random) -> str:
    """One sentence from ``template``, each slot drawn from ``rng`` (see the module docstring for the syntax).

    A numbered slot (``{station2}``) is redrawn until it differs from the other values of its slot, so a
    sentence never sends a taxi from 서울역 to 서울역.
    """
    used: dict[str, set[str]] = {}

    def value(match: re.Match) -> str:
        slot, number, particle = match.groups()
        seen = used.setdefault(slot, set())
        word = SLOTS[slot](rng)
        for _ in range(_ATTEMPTS_PER_SENTENCE):
            if not number or word not in seen:
                break
            word = SLOTS[slot](rng)
        seen.add(word)
        return attach(word, particle) if particle else word

    return _SLOT.sub(value, template)


def templated_sentences(per_template: int = PER_TEMPLATE, seed: int = TEMPLATE_SEED) -> list[str]:
    """Up to ``per_template`` distinct sentences of every template, template by template; deterministic in ``seed``.

    Each template has its own RNG (seeded from ``seed`` and its position), so adding a template at the end
    leaves the sentences of the others unchanged.
    """
    out: list[str] = []
    for index, template in enumerate(TEMPLATES):
        rng = random.Random(seed * 1000 + index)
        made: dict[str, None] = {}
        for _ in range(per_template * _ATTEMPTS_PER_SENTENCE):
            if len(made) >= per_template:
                break
            made.setdefault(fill(template, rng))
        out.extend(made)
    return out

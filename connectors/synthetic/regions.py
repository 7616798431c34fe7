"""Real Chinese administrative divisions and the resident ID number (GB 11643-1999) built on them.

Every region row is a district whose six-digit code is real. ``since`` is the first birth year for
which python-stdnum's division table accepts the district code; people born earlier get the
prefecture-level city code (``code[:4] + "00"``), which the table accepts for every year.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Region:
    """One district: division code, names, postal code, landline area code and a few real streets."""

    code: str
    province: str
    city: str
    district: str
    postal: str
    area_code: str
    since: int
    streets: tuple[str, ...]


def _r(
    code: str, province: str, city: str, district: str, postal: str, area: str, since: int, streets: str
) -> Region:
    return Region(code, province, city, district, postal, area, since, tuple(streets.split()))


REGIONS: tuple[Region, ...] = (
    _r("110101", "北京市", "北京市", "东城区", "100010", "010", 1900, "东单北大街 建国门内大街 东四十条"),
    _r("110102", "北京市", "北京市", "西城区", "100032", "010", 1900, "西直门内大街 金融大街 阜成门外大街"),
    _r("110105", "北京市", "北京市", "朝阳区", "100020", "010", 1900, "朝阳北路 建国路 望京西路"),
    _r("110108", "北京市", "北京市", "海淀区", "100080", "010", 1900, "中关村大街 学院路 知春路"),
    _r("310101", "上海市", "上海市", "黄浦区", "200001", "021", 1900, "南京东路 西藏中路 复兴中路"),
    _r("310104", "上海市", "上海市", "徐汇区", "200030", "021", 1900, "漕溪北路 天钥桥路 宜山路"),
    _r("310105", "上海市", "上海市", "长宁区", "200050", "021", 1900, "延安西路 天山路 仙霞路"),
    _r("310106", "上海市", "上海市", "静安区", "200040", "021", 1900, "南京西路 常德路 万航渡路"),
    _r("120101", "天津市", "天津市", "和平区", "300041", "022", 1900, "南京路 滨江道 营口道"),
    _r("120103", "天津市", "天津市", "河西区", "300202", "022", 1900, "友谊路 围堤道 解放南路"),
    _r("440104", "广东省", "广州市", "越秀区", "510030", "020", 1983, "中山五路 东风中路 环市东路"),
    _r("440106", "广东省", "广州市", "天河区", "510630", "020", 1985, "天河路 体育西路 黄埔大道西"),
    _r("440304", "广东省", "深圳市", "福田区", "518048", "0755", 1983, "深南大道 福华路 益田路"),
    _r("440305", "广东省", "深圳市", "南山区", "518052", "0755", 1983, "南海大道 科技园路 南山大道"),
    _r("330102", "浙江省", "杭州市", "上城区", "310002", "0571", 1983, "解放路 清泰街 秋涛路"),
    _r("330106", "浙江省", "杭州市", "西湖区", "310012", "0571", 1983, "文三路 天目山路 教工路"),
    _r("510104", "四川省", "成都市", "锦江区", "610021", "028", 1990, "春熙路 东大街 水井坊街"),
    _r("510107", "四川省", "成都市", "武侯区", "610041", "028", 1990, "人民南路 科华北路 玉林南路"),
    _r("320102", "江苏省", "南京市", "玄武区", "210018", "025", 1983, "中山路 珠江路 北京东路"),
    _r("320106", "江苏省", "南京市", "鼓楼区", "210008", "025", 1983, "中山北路 广州路 湖南路"),
    _r("420102", "湖北省", "武汉市", "江岸区", "430010", "027", 1983, "解放大道 中山大道 沿江大道"),
    _r("420106", "湖北省", "武汉市", "武昌区", "430061", "027", 1983, "中南路 武珞路 中北路"),
    _r("610103", "陕西省", "西安市", "碑林区", "710001", "029", 1983, "南大街 东大街 友谊西路"),
    _r("610113", "陕西省", "西安市", "雁塔区", "710061", "029", 1983, "小寨东路 长安南路 科技路"),
    _r("430102", "湖南省", "长沙市", "芙蓉区", "410011", "0731", 1983, "五一大道 芙蓉中路 八一路"),
    _r("370102", "山东省", "济南市", "历下区", "250011", "0531", 1983, "泉城路 经十路 解放路"),
    _r("370202", "山东省", "青岛市", "市南区", "266001", "0532", 1983, "香港中路 中山路 延安三路"),
    _r("210102", "辽宁省", "沈阳市", "和平区", "110001", "024", 1983, "太原街 南京北街 三好街"),
    _r("350203", "福建省", "厦门市", "思明区", "361001", "0592", 1983, "中山路 厦禾路 湖滨南路"),
    _r("350102", "福建省", "福州市", "鼓楼区", "350001", "0591", 1983, "五四路 杨桥中路 东街"),
    _r("410105", "河南省", "郑州市", "金水区", "450008", "0371", 1983, "花园路 金水路 经三路"),
    _r("530102", "云南省", "昆明市", "五华区", "650032", "0871", 1983, "东风西路 人民中路 青年路"),
)

# ISO 7064 MOD 11-2 weights for the first 17 digits: 2**(18 - i) mod 11.
_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))


def ric_check_digit(body: str) -> str:
    """Check character of an 18-digit resident ID from its first 17 digits (ISO 7064 MOD 11-2)."""
    total = sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def division_code(region: Region, birth: date) -> str:
    """The division code printed in an ID issued to someone born in ``birth.year`` in ``region``."""
    return region.code if birth.year >= region.since else region.code[:4] + "00"


def make_ric(rng: random.Random, region: Region, birth: date, sex: str) -> str:
    """An 18-digit resident ID: division code, birth date, sequence (odd male, even female), check."""
    seq = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)
    seq = max(seq, 2 if sex == "F" else 1)
    body = f"{division_code(region, birth)}{birth:%Y%m%d}{seq:03d}"
    return body + ric_check_digit(body)

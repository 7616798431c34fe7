"""Nurses' free-text notes in Chinese, some naming the patient, a relative, a phone number or the
resident ID: realistic dirty text that de-identification must scrub."""

from __future__ import annotations

import random

from .people import Person

NOTE_RATE = 0.02  # share of monitor messages that carry a note
WEARABLE_NOTE_RATE = 0.005  # share of wearable observations that carry a note

_TEMPLATES = (
    "患者{name}夜间睡眠差，诉胸闷，已通知值班医生。",
    "家属{kin}（{relation}）来电询问病情，联系电话{kin_phone}。",
    "核对身份：{name}，身份证号{ric}，腕带信息一致。",
    "患者{name}心率偏快，遵医嘱予美托洛尔口服，30分钟后复测。",
    "已联系家属{kin}，电话{kin_phone}，告知病情变化，家属表示理解。",
    "翻身拍背，皮肤完好，无压疮，管路通畅。",
    "患者自诉头晕，血压偏低，已报告主治医生，予补液治疗。",
    "血氧饱和度下降，予面罩吸氧5L/min，患者{name}精神可。",
    "{name}今日进食少，鼓励少量多餐，手机{mobile}由家属保管。",
    "体温升高，予物理降温，1小时后复测。",
)


def nurse_note(rng: random.Random, person: Person) -> str:
    """One note; which identifiers it leaks depends on the template drawn."""
    return rng.choice(_TEMPLATES).format(
        name=person.name,
        kin=person.kin.family + person.kin.given,
        relation=person.kin.relation_text,
        kin_phone=person.kin.phone,
        ric=person.ric,
        mobile=person.mobile,
    )


_WEARABLE_TEMPLATES = (
    "{name}自述晨跑后心慌，休息后缓解。",
    "佩戴者{name}反馈夜间手环松动，数据可能不准。",
    "家属{kin}代为记录：今日精神差，电话{kin_phone}。",
    "{name}服药后复测。",
)


def wearable_note(rng: random.Random, person: Person) -> str:
    """A note typed into the wearable's companion app by the wearer or a relative."""
    return rng.choice(_WEARABLE_TEMPLATES).format(
        name=person.name,
        kin=person.kin.family + person.kin.given,
        kin_phone=person.kin.phone,
    )

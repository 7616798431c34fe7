"""Word lists the detectors read: surnames, given-name characters, cue words, place and organisation
suffixes, and the clinical words a name candidate must not overlap. Data only, no logic, no I/O.

The clinical words here guard the detectors; the evaluation measures "clinical vocabulary untouched" on a
separate list (deid/data/clinical_vocab.txt) so that the check does not share its definition with the code.
"""

from __future__ import annotations

# Single-character surnames: the Hundred Family Surnames plus frequent modern and minority ones.
SINGLE_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康"
    "施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷"
    "盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏"
    "席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀"
    "郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索"
    "宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛"
    "宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由"
    # rarer surnames
    "佴訾郇笪禚逄鄂蒯蒉淦郄肇贲隗厍绳璩桓沃郦冒郏浑蔚暴甫钮迮隗逮阎雒闾郗昌缑宓怀仉宦钭郯"
    # the rest of the Hundred Family Surnames, but for characters that are mostly ordinary words (家 从 能 后 …)
    "酆萧贝洪滑荀羿汲邴糜弓蓬韶蓟赖苍莘贡堵宰濮寿习庾暨步禄殳夔融乜巢竺凤松牧仰秋咸籍扶鱼慎弘越红"
)
COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文", "司徒",
    "西门", "独孤", "南宫", "端木", "轩辕", "百里", "呼延", "万俟", "澹台", "公冶", "太史", "申屠", "闻人", "赫连",
    "拓跋", "完颜", "爱新觉罗", "钟离", "宗政", "濮阳", "淳于", "单于", "仲孙", "第五", "鲜于", "乐正", "东郭",
    "司空", "司寇", "巫马", "公西", "漆雕", "壤驷", "公良", "羊舌", "微生", "梁丘", "左丘", "谷梁", "段干", "子车",
)
# Characters frequent in given names (first and second position). Used to accept a surname-led candidate
# and to extend a known name that continues (张建 inside 张建国) so no fragment is left behind.
GIVEN_CHARS = set(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉梅红建文辉力飞鹏斌宇浩凯健俊帆帅旭宁龙林欣佳琳婷雪倩"
    "萍燕丹莉颖晶慧巧美淑惠珠翠雅芝玲瑶怡晓春海峰波宏鑫博志庆东成民荣新生兵云福德昌江永光利清振忠祥亮彬义嘉琪"
    "萱涵轩梓子睿泽晨思雨紫馨欢悦娇凤琴素香月莲秋菊桃金银宝贵花蓉芬娥琼兴国良军武晴诗梦璐露冰韵语嫣然婉蕾菲薇"
    "娅妍媛姗姝婕婧娴琦瑜瑾璇琰珂珊怡恬卿岚昕曦晗彤萌蕊芸茜萍蓓钰锦铭鸣鹤鹰鸿翔腾跃骏驰瑞祺祯禄寿喜乐安泰康"
    "豪杰俊逸楠桐森柏松杨柳枫槐荷莹滢潇澜涓淇汐沐沁涛洁清溪源渊鸥雁燕鹃莺歆昊旻晟暄朗阳炜烨煜焕熙灿彦彬斐"
    "卓越远达通毅刚坚勤俭朴素贞淑静娴秀丽艳芳娟倩婷婧妮娜娅姣嫦娣媚媛嫣婵婕姿仪容颜蓉蕙兰馨薇蔚芊芷若萱蓁"
    "宜真珍璐瑶琳琪琬瑗瑛瑜璟环佩珏伦仁信义礼智勇毅恒谦逊和顺泰宁静远致诚笃敬慎默言语诗书画琴棋娃妹丫"
    "小大二三四五六七八九十一山石川河湖田禾木水火土丰年正方圆长之天地人心中"
)
# Tibetan, Mongolian and other minority given names that stand without a surname.
MINORITY_NAME_PARTS = (
    "扎西", "卓玛", "次仁", "格桑", "多吉", "央金", "德吉", "拉姆", "达瓦", "尼玛", "旺堆", "平措", "顿珠", "索朗",
    "白玛", "曲珍", "洛桑", "丹增", "琼达", "普布", "边巴", "巴桑", "罗布", "米玛", "益西", "桑吉", "措姆", "仁增",
    "旦增", "群培", "强巴", "贡布", "次旦", "德庆", "卓嘎", "嘎玛", "央宗", "斯琴", "巴特尔", "乌云", "其其格",
    "额尔敦", "苏和", "高娃", "其木格", "乌兰", "图雅", "娜仁", "萨日娜", "格日勒", "阿依古丽", "古丽", "买买提", "艾力", "热合曼", "阿不都", "吐尔逊", "努尔", "迪丽", "热巴",
    "阿旺", "晋美", "那日苏", "帕提", "娜尔", "热依拉", "阿依努尔", "迪丽努尔", "帕提曼", "布和", "宝音", "巴雅尔",
    "朝鲁", "敖登", "孟和", "阿拉坦", "哈斯", "达来", "阿迪力", "艾合买提", "玉素甫", "吾斯曼", "依明", "沙吾提",
    "才让", "扎巴", "加措", "索南", "洛布", "卓玛", "仁青", "多杰", "拉毛", "才旦", "更登", "贡觉", "阿依", "米娜",
)
# Words before a name: roles, relations, address forms. Longest first is arranged by the regex builder.
CUES_BEFORE = (
    "床", "签名", "签字", "患者", "病人", "病员", "伤员", "患儿", "产妇", "姓名", "家属", "亲属", "联系人", "监护人", "佩戴者", "配偶",
    "丈夫", "妻子", "老公", "老婆", "爱人", "儿子", "女儿", "儿媳", "女婿", "父亲", "母亲", "爸爸", "妈妈", "哥哥",
    "姐姐", "弟弟", "妹妹", "孙子", "孙女", "外孙", "外孙女", "外甥", "外甥女", "侄子", "侄女", "婆婆", "公公",
    "岳父", "岳母", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷", "叔叔", "阿姨", "舅舅", "舅妈", "姑姑", "伯伯",
    "邻居", "朋友", "同事", "闺蜜", "室友", "同学", "保姆", "护工", "陪护", "医生", "医师", "主治医师", "主治医生",
    "主任医师", "副主任医师", "住院医师", "主管医师", "主任", "护士", "护士长", "责任护士", "护师", "药师", "技师",
    "治疗师", "康复师", "营养师", "麻醉师", "大夫", "院长", "科长", "经办人", "签字人", "委托人", "代理人", "由",
    "病友", "老伴", "用户", "手环用户", "同事", "同学", "患友", "室友", "陪护人", "家长", "监护者",
    "交班人", "接班人", "记录人", "记录者", "执行人", "核对人", "操作者", "报告人", "审核人", "值班医生", "值班护士",
)
CUES_AFTER = (
    "医生", "医师", "大夫", "护士", "护士长", "主任", "老师", "先生", "女士", "小姐", "同志", "阿姨", "师傅", "老人",
    "患者", "老伯", "奶奶", "爷爷", "说", "称", "诉", "代诉", "表示", "陪同", "陪护", "来访", "探视", "看望", "签字",
    "签名", "同意", "拒绝", "要求", "告知", "联系", "电话", "来电", "送来", "送入", "到院", "已知晓", "知情",
    "查房", "接班", "交班", "执行", "核对", "记录", "负责", "处理", "值班", "会诊", "于", "因", "自述", "主诉",
    "入院", "出院", "转入", "转出", "拒绝", "反映", "询问", "来电", "昨日", "今日", "今晨", "昨晚", "前来",
    # 某人的亲属: a name before 的 and a relation word
    "的儿子", "的女儿", "的丈夫", "的妻子", "的爱人", "的配偶", "的老伴", "的父亲", "的母亲", "的孙子", "的孙女",
    "的外孙", "的外孙女", "的侄子", "的侄女", "的外甥", "的外甥女", "的家属", "的亲属", "的朋友", "的同事",
    "的邻居", "的监护人", "的哥哥", "的姐姐", "的弟弟", "的妹妹", "的儿媳", "的女婿",
)
# Han characters that end a name candidate: function words and frequent verbs.
NOT_GIVEN = set("的了是在于和与及或也都又再就还已未不没有被把给对向从往到自今昨前后上下里外中内时点分秒年月日号"
                "说称诉讲问答看见来去回进出入住院科床室号楼层岁名位个次天周医护每因")
# Words that often follow a name: the character before them ends the name (张伟头痛 → 张伟).
FOLLOW_WORDS = (
    "头痛", "头晕", "胸闷", "胸痛", "腹痛", "腹胀", "腹泻", "发热", "发烧", "咳嗽", "咳痰", "气促", "气短", "恶心",
    "呕吐", "乏力", "血压", "血糖", "心率", "心悸", "体温", "呼吸", "神志", "精神", "饮食", "睡眠", "大便", "小便",
    "尿量", "目前", "现在", "近期", "近日", "病情", "情况", "一般", "一直", "自诉", "主诉", "既往", "诉", "拒绝",
    "同意", "要求", "表示", "签字", "陪同", "来访", "探视", "管路", "报警", "跌倒", "步数", "出现", "突发", "再次",
    "仍", "无", "有", "经", "行", "予", "给予", "口服", "静脉", "术后",
)
# Words that start right after a name and must not be read as its last character (张伟明天出院).
AFTER_NAME_WORDS = ("明天", "明日", "明早", "明晨", "明晚", "今天", "今日", "今晨", "昨天", "昨日", "昨晚", "一直", "一般")
# Place suffixes ending a road name, then the house-number parts.
ROAD_SUFFIXES = ("大街", "大道", "胡同", "路", "街", "巷", "弄", "道", "里")
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "公寓", "新村", "社区", "苑", "大厦", "广场", "村")
ORG_SUFFIXES = (
    "社区卫生服务中心", "社区卫生服务站", "卫生服务中心", "卫生院", "卫生室", "诊所", "门诊部", "养老院", "敬老院",
    "福利院", "幼儿园", "小学", "中学", "高中", "初中", "大学", "学院", "学校", "职业技术学院", "公司", "有限公司",
    "集团", "工厂", "厂", "银行", "研究所", "研究院", "事务所", "派出所", "街道办", "居委会", "村委会", "超市", "酒店",
    "餐厅", "医院",
)
# Ordinary words that look like "surname + given": never a name.
NOT_NAMES = (
    # verbs and nouns led by a surname character, frequent after a role word (医生解释, 护士查看)
    "解释", "解决", "解除", "查看", "查体", "安排", "安慰", "通知", "应用", "应该", "于是", "许可", "处理", "检查",
    "调整", "管理", "指导", "宣教", "协助", "巡视", "观察", "记录", "陪同", "告知", "联系", "沟通", "评估",
    "高血压", "高血糖", "高血脂", "高热", "高烧", "高危", "高度", "高压", "高钾", "高钠", "常规", "常见", "白细胞", "白蛋白", "白天", "黄疸", "黄色",
    "石膏", "方案", "方法", "江南", "金属", "马上", "林业", "龙头", "史上", "向上", "文件", "明显", "明确", "明天", "于是", "安静", "安全", "安排",
    "和平", "时间", "时候", "原因", "原来", "成人", "成功", "平稳", "平静", "平时", "平卧", "全身", "全天", "全麻", "宁静", "周围", "周期", "周身",
    "余量", "程度", "苏醒", "任何", "陆续", "范围", "夏季", "包括", "包扎", "甘油", "单位", "单次", "季节", "米粥", "左侧", "左右", "左上", "左下",
    "右侧", "华法林", "曲线", "冷汗", "冷敷", "雷贝拉唑", "关节", "关注", "关闭", "谷丙", "谷草", "谷氨", "能量", "车祸", "项目", "费用", "管路",
    "管道", "管理", "柴胡", "蒙脱石", "席位", "卫生", "应用", "应激", "边缘", "师傅", "和缓", "商量", "沙丁胺醇", "明日", "来院", "都是", "干燥",
    "尿量", "阴性", "阳性", "信号", "展开", "元素", "戴氧", "戴口罩", "孔径", "严重", "严密", "武汉", "海鲜", "海绵", "花粉", "强度", "强化",
    "索引", "鲜血", "印象", "隆起", "危险", "危重", "银杏", "公斤", "居家", "衣物", "卫生间", "黎明", "钟点", "杭州", "宁波", "柳州", "温度",
    "温水", "康复", "施行", "齐全", "易于", "庞大", "颜色", "章节", "兰州", "焦虑", "甘露醇", "舒适", "舒张压", "纪录", "梅毒", "童年", "凌晨",
    "毕竟", "霍乱", "成分", "苗头", "蓝色", "路径", "游离", "管床", "房颤", "房间", "屈曲", "解除", "解痉", "艾司", "尤其", "时有", "时而", "简单",
    "连续", "连接", "宫颈", "宫缩", "全程", "查体", "查房", "查看", "麻醉", "麻木", "迟发", "谈话", "原发", "劳累", "皮肤", "皮疹", "皮下", "满意",
    "闻及", "位置", "区域", "支架", "支气管", "国内", "国家", "计划", "计量", "宣教", "相关", "相同", "初步", "初诊", "门诊", "容量", "容易",
    "来源", "来诊", "普通", "普食", "母乳", "修改", "玉米", "利尿", "利多卡因", "呼吸", "呼叫", "干预", "但是", "阴道", "植入", "由于", "由此",
    "万古霉素", "高流量", "高频", "丁丙诺啡", "毛细血管", "黄体酮", "雷尼替丁", "杜冷丁", "罗红霉素", "罗哌卡因", "林可霉素", "何时", "何种", "许可", "许多",
    "步数", "步行", "步态", "步骤", "步距", "红细胞", "红肿", "红斑", "红色", "红润", "红疹", "红外", "松弛", "松动",
    "松解", "松开", "仰卧", "仰头", "秋季", "咸味", "籍贯", "扶行", "扶助", "扶持", "扶起", "鱼肝油", "鱼刺", "慎用",
    "越来越", "习惯", "融合", "滑脱", "滑膜", "滑囊", "滑动", "洪亮", "贝那普利", "寿命", "牧区",
    "来电", "来访", "来信", "来人", "来看", "来过", "来此", "床旁", "床边", "床头", "床尾", "床上", "床位",
    "曾经", "叶酸", "程序", "任务", "胡言乱语", "谢谢", "苏打", "付费", "方便", "毛发", "万一", "牛奶", "葛根", "安眠", "申请", "符合", "涂抹",
)
PINYIN_EXTRA_SURNAMES = ("zhuge", "ouyang", "sima", "shangguan", "murong", "dongfang", "huangfu", "situ")
# Common English given names (frequent in the US and UK registers): "First Last" is taken for a name.
EN_FIRST_NAMES = (
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles", "Daniel",
    "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew", "Joshua", "Kenneth", "Kevin", "Brian",
    "George", "Edward", "Ronald", "Timothy", "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric",
    "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Frank", "Gregory",
    "Raymond", "Alexander", "Patrick", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Henry", "Adam", "Peter",
    "Nathan", "Zachary", "Walter", "Kyle", "Harold", "Carl", "Jeremy", "Keith", "Roger", "Gerald", "Ethan",
    "Arthur", "Terry", "Christian", "Sean", "Lawrence", "Austin", "Joe", "Noah", "Jesse", "Albert", "Bryan",
    "Billy", "Bruce", "Willie", "Jordan", "Dylan", "Alan", "Ralph", "Gabriel", "Roy", "Juan", "Wayne", "Eugene",
    "Logan", "Randy", "Louis", "Russell", "Vincent", "Philip", "Bobby", "Johnny", "Bradley", "Oliver", "Harry",
    "Charlie", "Oscar", "Leo", "Alfie", "Freddie", "Archie", "Theo", "Isaac", "Lucas", "Owen", "Liam", "Mason",
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
    "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle", "Dorothy",
    "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen",
    "Amy", "Shirley", "Angela", "Helen", "Anna", "Brenda", "Pamela", "Nicole", "Emma", "Samantha", "Katherine",
    "Christine", "Debra", "Rachel", "Catherine", "Carolyn", "Janet", "Ruth", "Maria", "Heather", "Diane",
    "Virginia", "Julie", "Joyce", "Victoria", "Olivia", "Kelly", "Christina", "Lauren", "Joan", "Evelyn",
    "Judith", "Megan", "Cheryl", "Andrea", "Hannah", "Martha", "Jacqueline", "Frances", "Gloria", "Ann",
    "Teresa", "Kathryn", "Sara", "Janice", "Jean", "Alice", "Madison", "Doris", "Abigail", "Julia", "Judy",
    "Grace", "Denise", "Amber", "Marilyn", "Beverly", "Danielle", "Theresa", "Sophia", "Sophie", "Marie",
    "Diana", "Brittany", "Natalie", "Isabella", "Charlotte", "Rose", "Alexis", "Kayla", "Amelia", "Isla", "Ava",
    "Mia", "Ella", "Lily", "Chloe", "Ruby", "Poppy", "Evie", "Freya", "Florence", "Ivy", "Lucy", "Holly",
    # more of the frequent given names of the US, UK, Irish, Australian and Canadian registers
    "Jude", "Zoe", "Zoey", "Leah", "Caleb", "Felix", "Nora", "Miles", "Hazel", "Maya", "Elijah", "Levi", "Sebastian",
    "Mateo", "Jackson", "Aiden", "Grayson", "Luke", "Carter", "Jayden", "Wyatt", "Julian", "Hudson", "Lincoln",
    "Asher", "Ezra", "Hunter", "Connor", "Eli", "Landon", "Adrian", "Jaxon", "Colton", "Cameron", "Easton",
    "Nolan", "Robin", "Declan", "Finn", "Rory", "Ronan", "Callum", "Conor", "Cian", "Oisin", "Seamus", "Niall",
    "Eoin", "Darragh", "Kieran", "Aidan", "Reuben", "Toby", "Max", "Louie", "Teddy", "Frankie", "Stanley",
    "Albie", "Ronnie", "Reggie", "Hugo", "Elliot", "Elliott", "Ralph", "Rupert", "Hamish", "Angus", "Fergus",
    "Alistair", "Duncan", "Graham", "Malcolm", "Neil", "Nigel", "Colin", "Trevor", "Derek", "Clive", "Martin",
    "Simon", "Stuart", "Ian", "Craig", "Gavin", "Lee", "Dean", "Wayne", "Darren", "Glen", "Barry", "Gordon",
    "Norman", "Leonard", "Stanley", "Howard", "Francis", "Victor", "Martin", "Curtis", "Travis", "Shane", "Marcus",
    "Derrick", "Troy", "Clinton", "Jared", "Cody", "Dustin", "Chad", "Brett", "Spencer", "Mitchell", "Grant",
    "Wesley", "Dominic", "Tristan", "Xavier", "Ivan", "Omar", "Ali", "Hassan", "Ahmed", "Mohammed", "Muhammad",
    "Yusuf", "Ibrahim", "Rahul", "Arjun", "Ravi", "Sanjay", "Vikram", "Kenji", "Hiroshi", "Takeshi", "Minho",
    "Emma", "Aria", "Scarlett", "Layla", "Penelope", "Riley", "Nova", "Luna", "Stella", "Violet", "Aurora",
    "Savannah", "Audrey", "Brooklyn", "Bella", "Claire", "Skylar", "Paisley", "Everly", "Anna", "Caroline",
    "Genesis", "Aaliyah", "Kennedy", "Kinsley", "Allison", "Gabriella", "Madelyn", "Cora", "Eleanor", "Josephine",
    "Eliana", "Naomi", "Willow", "Emilia", "Quinn", "Rosie", "Phoebe", "Matilda", "Elsie", "Sienna", "Daisy",
    "Imogen", "Harriet", "Beatrice", "Edith", "Mabel", "Maisie", "Esme", "Orla", "Aoife", "Niamh", "Siobhan",
    "Ciara", "Saoirse", "Roisin", "Sinead", "Bridget", "Maeve", "Fiona", "Morag", "Isobel", "Eilidh", "Kirsty",
    "Gemma", "Leanne", "Kerry", "Tracey", "Stacey", "Wendy", "Joanne", "Dawn", "Gillian", "Lesley", "Pauline",
    "Sheila", "Maureen", "Brenda", "Irene", "Eileen", "Jill", "Valerie", "Yvonne", "Elaine", "Lorraine", "Alison",
    "Tanya", "Sonia", "Priya", "Anjali", "Aisha", "Fatima", "Yasmin", "Leila", "Mei", "Yuki", "Sakura", "Hana",
    "Nina", "Vera", "Ingrid", "Astrid", "Greta", "Heidi", "Elsa", "Clara", "Sofia", "Lucia", "Elena", "Carmen",
    "Rosa", "Isabel", "Ines", "Marta", "Paula", "Eva", "Hanna", "Lena", "Leonie", "Mila", "Emilie", "Camille",
    "Manon", "Chantal", "Monique", "Colette", "Juliette", "Louise", "Margot", "Agnes", "Theodore", "Thea",
)

/*
 * Synthetic accreditation files: realistic, valid persons, deterministic in
 * the seed, for tests, demos and benchmarks. The PRNG (splitmix64) is for
 * reproducible test data only, never for anything secret.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "coffre/coffre.h"
#include "record/record.h"
#include "util/secmem.h"

struct coffre_gen {
    uint64_t state;
    uint64_t counter;
    int photos;
    int64_t today; /* days since 1970-01-01 (UTC) */
};

/* A name in its own script, and its Latin form when that is another. */
struct gname {
    const char *native;
    const char *latin;
};

#define NAMES(...) ((const struct gname[]){__VA_ARGS__})
#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})

struct origin {
    const char *country;  /* ISO 3166-1 alpha-3 */
    unsigned weight;      /* per mille */
    const char *phone_cc; /* E.164 country code */
    unsigned phone_len;   /* national significant digits */
    unsigned postal_len;  /* digits of a postal code */
    const char *domain;   /* of email addresses */
    const char *noc;      /* national olympic committee */
    const struct gname *surnames, *female, *male;
    const char *const *cities;
    const char *const *streets;
};

#define G(x)                                                                   \
    {                                                                          \
        x, NULL                                                                \
    }
static const struct origin origins[] = {
    {"FRA", 380, "33", 9, 5, "orange.fr",
     "Comité National Olympique et Sportif Français",
     NAMES(G("Martin"), G("Bernard"), G("Dubois"), G("Lefèvre"), G("Girard"),
           G("Lemaître"), G("Bénard"), G("Moreau"), G("Roussel"), G("Faure"),
           {NULL, NULL}),
     NAMES(G("Élodie-Anne"), G("Chloé"), G("Léa"), G("Maëlle"), G("Hélène"),
           G("Françoise"), G("Inès"), {NULL, NULL}),
     NAMES(G("Jean-François"), G("Loïc"), G("Théo"), G("Jérôme"), G("François"),
           G("Noël"), G("Aurélien"), {NULL, NULL}),
     LIST("Paris", "Saint-Étienne", "Besançon", "Orléans", "Nîmes", "Créteil"),
     LIST("rue de la Paix", "avenue des Champs-Élysées",
          "boulevard Saint-Michel", "rue du Faubourg Saint-Honoré",
          "place de l'Église")},
    {"DEU", 60, "49", 10, 5, "web.de", "Deutscher Olympischer Sportbund",
     NAMES(G("Müller"), G("Schäfer"), G("Weiß"), G("Größer"), G("Köhler"),
           G("Schröder"), G("Bäcker"), {NULL, NULL}),
     NAMES(G("Jürgen"), G("Lotte"), G("Käthe"), G("Hannelore"), G("Anneliese"),
           {NULL, NULL}),
     NAMES(G("Jörg"), G("Björn"), G("Günther"), G("Maximilian"), G("Lukas"),
           {NULL, NULL}),
     LIST("München", "Köln", "Düsseldorf", "Nürnberg", "Lübeck"),
     LIST("Hauptstraße", "Königsallee", "Schloßstraße", "Gartenweg")},
    {"ESP", 40, "34", 9, 5, "telefonica.es", "Comité Olímpico Español",
     NAMES(G("García"), G("Fernández"), G("Martínez"), G("Núñez"), G("Ibáñez"),
           G("Muñoz"), {NULL, NULL}),
     NAMES(G("María José"), G("Lucía"), G("Begoña"), G("Inmaculada"),
           {NULL, NULL}),
     NAMES(G("José Ángel"), G("Íñigo"), G("Raúl"), G("Joaquín"), {NULL, NULL}),
     LIST("Madrid", "Cádiz", "Málaga", "Córdoba", "León"),
     LIST("Calle Mayor", "Avenida de la Constitución", "Plaza de España")},
    {"BRA", 30, "55", 11, 8, "uol.com.br", "Comitê Olímpico do Brasil",
     NAMES(G("Conceição"), G("Gonçalves"), G("Araújo"), G("Magalhães"),
           G("Simões"), {NULL, NULL}),
     NAMES(G("Conceição"), G("Antônia"), G("Márcia"), G("Lúcia"), {NULL, NULL}),
     NAMES(G("João"), G("Sebastião"), G("Antônio"), G("Estêvão"), {NULL, NULL}),
     LIST("São Paulo", "Brasília", "Belém", "Florianópolis"),
     LIST("Rua da Consolação", "Avenida Paulista", "Praça da Sé")},
    {"POL", 25, "48", 9, 5, "wp.pl", "Polski Komitet Olimpijski",
     NAMES(G("Wiśniewski"), G("Wójcik"), G("Kałuża"), G("Żółkiewski"),
           G("Łukaszewicz"), {NULL, NULL}),
     NAMES(G("Małgorzata"), G("Agnieszka"), G("Jadwiga"), G("Zofia"),
           {NULL, NULL}),
     NAMES(G("Łukasz"), G("Michał"), G("Paweł"), G("Wojciech"), {NULL, NULL}),
     LIST("Kraków", "Łódź", "Gdańsk", "Poznań", "Wrocław"),
     LIST("ulica Marszałkowska", "aleja Róż", "ulica Świętokrzyska")},
    {"CZE", 15, "420", 9, 5, "seznam.cz", "Český olympijský výbor",
     NAMES(G("Dvořák"), G("Novák"), G("Černý"), G("Procházka"), G("Kučera"),
           {NULL, NULL}),
     NAMES(G("Tereza"), G("Kateřina"), G("Zdeňka"), G("Lucie"), {NULL, NULL}),
     NAMES(G("Jiří"), G("Tomáš"), G("Ondřej"), G("Lukáš"), {NULL, NULL}),
     LIST("Praha", "Brno", "Plzeň", "České Budějovice"),
     LIST("Václavské náměstí", "Národní třída", "Karlova")},
    {"TUR", 20, "90", 10, 5, "turk.net", "Türkiye Millî Olimpiyat Komitesi",
     NAMES(G("Yılmaz"), G("Öztürk"), G("Çelik"), G("Şahin"), G("Doğan"),
           {NULL, NULL}),
     NAMES(G("Ayşe"), G("Gülşen"), G("Özlem"), G("Şule"), {NULL, NULL}),
     NAMES(G("Mehmet"), G("Çağrı"), G("İsmail"), G("Oğuz"), {NULL, NULL}),
     LIST("İstanbul", "Ankara", "İzmir", "Eskişehir"),
     LIST("İstiklal Caddesi", "Atatürk Bulvarı", "Bağdat Caddesi")},
    {"VNM", 15, "84", 9, 6, "vnn.vn", "Ủy ban Olympic Việt Nam",
     NAMES(G("Nguyễn"), G("Trần"), G("Lê"), G("Phạm"), G("Hoàng"), G("Đặng"),
           {NULL, NULL}),
     NAMES(G("Thị Hương"), G("Ngọc Ánh"), G("Thu Thủy"), G("Phương Thảo"),
           {NULL, NULL}),
     NAMES(G("Văn Đức"), G("Quốc Bảo"), G("Minh Tuấn"), G("Hữu Nghĩa"),
           {NULL, NULL}),
     LIST("Hà Nội", "Thành phố Hồ Chí Minh", "Đà Nẵng", "Huế"),
     LIST("Phố Hàng Bạc", "Đường Lê Lợi", "Đường Trần Hưng Đạo")},
    {"GRC", 20, "30", 10, 5, "otenet.gr", "Ελληνική Ολυμπιακή Επιτροπή",
     NAMES({"Παπαδόπουλος", "papadopoulos"}, {"Σωκράτης", "sokratis"},
           {"Νικολάου", "nikolaou"}, {"Γεωργίου", "georgiou"},
           {"Καραγιάννης", "karagiannis"}, {NULL, NULL}),
     NAMES({"Ελένη", "eleni"}, {"Μαρία", "maria"}, {"Αικατερίνη", "aikaterini"},
           {"Σοφία", "sofia"}, {NULL, NULL}),
     NAMES({"Γιώργος", "giorgos"}, {"Δημήτρης", "dimitris"}, {"Νίκος", "nikos"},
           {"Σωκράτης", "sokratis"}, {NULL, NULL}),
     LIST("Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο"),
     LIST("Οδός Ερμού", "Λεωφόρος Συγγρού", "Οδός Αιόλου")},
    {"RUS", 15, "7", 10, 6, "yandex.ru", "Олимпийский комитет России",
     NAMES({"Иванов", "ivanov"}, {"Смирнов", "smirnov"},
           {"Кузнецов", "kuznetsov"}, {"Соловьёв", "solovyov"},
           {"Фёдоров", "fedorov"}, {NULL, NULL}),
     NAMES({"Наталья", "natalya"}, {"Ольга", "olga"}, {"Татьяна", "tatyana"},
           {"Алёна", "alyona"}, {NULL, NULL}),
     NAMES({"Сергей", "sergey"}, {"Дмитрий", "dmitry"}, {"Алексей", "aleksey"},
           {"Пётр", "pyotr"}, {NULL, NULL}),
     LIST("Москва", "Санкт-Петербург", "Казань", "Новосибирск"),
     LIST("улица Тверская", "Невский проспект", "улица Арбат")},
    {"UKR", 20, "380", 9, 5, "ukr.net",
     "Національний олімпійський комітет України",
     NAMES({"Шевченко", "shevchenko"}, {"Коваленко", "kovalenko"},
           {"Бондаренко", "bondarenko"}, {"Ґонта", "gonta"},
           {"Ткачук", "tkachuk"}, {NULL, NULL}),
     NAMES({"Олена", "olena"}, {"Ірина", "iryna"}, {"Юлія", "yuliia"},
           {"Оксана", "oksana"}, {NULL, NULL}),
     NAMES({"Олександр", "oleksandr"}, {"Андрій", "andrii"}, {"Їжак", "yizhak"},
           {"Євген", "yevhen"}, {NULL, NULL}),
     LIST("Київ", "Львів", "Харків", "Одеса"),
     LIST("вулиця Хрещатик", "проспект Шевченка", "вулиця Січових Стрільців")},
    {"MAR", 30, "212", 9, 5, "menara.ma", "Comité National Olympique Marocain",
     NAMES({"العلوي", "alaoui"}, {"بنعلي", "benali"}, {"الإدريسي", "idrissi"},
           {"بنكيران", "benkirane"}, {NULL, NULL}),
     NAMES({"فاطمة", "fatima"}, {"خديجة", "khadija"}, {"مريم", "maryam"},
           {"سلمى", "salma"}, {NULL, NULL}),
     NAMES({"محمد", "mohamed"}, {"يوسف", "youssef"}, {"أمين", "amine"},
           {"حمزة", "hamza"}, {NULL, NULL}),
     LIST("الرباط", "الدار البيضاء", "مراكش", "فاس"),
     LIST("شارع محمد الخامس", "زنقة الحرية", "شارع الحسن الثاني")},
    {"CHN", 40, "86", 11, 6, "qq.com", "中国奥林匹克委员会",
     NAMES({"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"},
           {"陈", "chen"}, {NULL, NULL}),
     NAMES({"秀英", "xiuying"}, {"丽娟", "lijuan"}, {"静", "jing"},
           {"芳", "fang"}, {NULL, NULL}),
     NAMES({"伟", "wei"}, {"强", "qiang"}, {"磊", "lei"}, {"建华", "jianhua"},
           {NULL, NULL}),
     LIST("北京", "上海", "广州", "成都"), LIST("长安街", "南京路", "中山路")},
    {"JPN", 40, "81", 10, 7, "docomo.ne.jp", "日本オリンピック委員会",
     NAMES({"佐藤", "sato"}, {"鈴木", "suzuki"}, {"高橋", "takahashi"},
           {"田中", "tanaka"}, {"渡辺", "watanabe"}, {NULL, NULL}),
     NAMES({"さくら", "sakura"}, {"陽子", "yoko"}, {"美咲", "misaki"},
           {"花子", "hanako"}, {NULL, NULL}),
     NAMES({"翔太", "shota"}, {"健", "ken"}, {"大輔", "daisuke"},
           {"拓也", "takuya"}, {NULL, NULL}),
     LIST("東京", "大阪", "京都", "札幌"),
     LIST("銀座通り", "本町通り", "御堂筋")},
    {"KOR", 25, "82", 10, 5, "naver.com", "대한체육회",
     NAMES({"김", "kim"}, {"이", "lee"}, {"박", "park"}, {"최", "choi"},
           {"정", "jung"}, {NULL, NULL}),
     NAMES({"지은", "jieun"}, {"민지", "minji"}, {"서연", "seoyeon"},
           {"수빈", "subin"}, {NULL, NULL}),
     NAMES({"민준", "minjun"}, {"서준", "seojun"}, {"현우", "hyunwoo"},
           {"지훈", "jihoon"}, {NULL, NULL}),
     LIST("서울", "부산", "인천", "대구"),
     LIST("세종대로", "테헤란로", "해운대로")},
    {"IND", 40, "91", 10, 6, "rediffmail.com", "भारतीय ओलंपिक संघ",
     NAMES({"शर्मा", "sharma"}, {"वर्मा", "verma"}, {"पटेल", "patel"},
           {"सिंह", "singh"}, {"गुप्ता", "gupta"}, {NULL, NULL}),
     NAMES({"प्रिया", "priya"}, {"अनीता", "anita"}, {"दीपिका", "deepika"},
           {"सुनीता", "sunita"}, {NULL, NULL}),
     NAMES({"राहुल", "rahul"}, {"अमित", "amit"}, {"विजय", "vijay"},
           {"अर्जुन", "arjun"}, {NULL, NULL}),
     LIST("नई दिल्ली", "मुंबई", "जयपुर", "वाराणसी"),
     LIST("महात्मा गांधी मार्ग", "राजपथ", "चांदनी चौक")},
    {"ISR", 15, "972", 9, 7, "walla.co.il", "הוועד האולימפי בישראל",
     NAMES({"כהן", "cohen"}, {"לוי", "levi"}, {"מזרחי", "mizrahi"},
           {"פרץ", "peretz"}, {NULL, NULL}),
     NAMES({"נועה", "noa"}, {"שירה", "shira"}, {"תמר", "tamar"},
           {"מיכל", "michal"}, {NULL, NULL}),
     NAMES({"דוד", "david"}, {"יוסף", "yosef"}, {"אורי", "uri"},
           {"איתי", "itai"}, {NULL, NULL}),
     LIST("ירושלים", "תל אביב-יפו", "חיפה", "באר שבע"),
     LIST("רחוב יפו", "שדרות רוטשילד", "רחוב הרצל")},
    {"GBR", 50, "44", 10, 0, "btinternet.com", "British Olympic Association",
     NAMES(G("Smith"), G("O'Brien"), G("Taylor"), G("Brown"), G("Wilson"),
           G("Evans"), {NULL, NULL}),
     NAMES(G("Olivia"), G("Amelia"), G("Siobhán"), G("Emily"), {NULL, NULL}),
     NAMES(G("Oliver"), G("Harry"), G("Seán"), G("George"), {NULL, NULL}),
     LIST("London", "Manchester", "Edinburgh", "Cardiff"),
     LIST("High Street", "Station Road", "Church Lane")},
    {"USA", 60, "1", 10, 5, "gmail.com",
     "United States Olympic & Paralympic Committee",
     NAMES(G("Johnson"), G("Williams"), G("Rodríguez"), G("Nguyen"),
           G("Miller"), G("Davis"), {NULL, NULL}),
     NAMES(G("Ashley"), G("Jessica"), G("Zoë"), G("Madison"), {NULL, NULL}),
     NAMES(G("Michael"), G("Christopher"), G("José"), G("Tyler"), {NULL, NULL}),
     LIST("New York", "Los Angeles", "Chicago", "Houston"),
     LIST("Main Street", "Oak Avenue", "Maple Drive")},
    {"ITA", 30, "39", 10, 5, "libero.it",
     "Comitato Olimpico Nazionale Italiano",
     NAMES(G("Rossi"), G("Russo"), G("Ferrari"), G("Esposito"), G("D'Angelo"),
           G("Niccolò"), {NULL, NULL}),
     NAMES(G("Giulia"), G("Francesca"), G("Chiara"), G("Alessandra"),
           {NULL, NULL}),
     NAMES(G("Niccolò"), G("Lorenzo"), G("Mattia"), G("Andrea"), {NULL, NULL}),
     LIST("Roma", "Milano", "Napoli", "Forlì"),
     LIST("Via Roma", "Corso Vittorio Emanuele", "Piazza del Popolo")},
    {"NOR", 15, "47", 8, 4, "online.no", "Norges idrettsforbund",
     NAMES(G("Hansen"), G("Johansen"), G("Sørensen"), G("Bjørnstad"),
           G("Løvås"), {NULL, NULL}),
     NAMES(G("Åse"), G("Ingrid"), G("Sølvi"), G("Kari"), {NULL, NULL}),
     NAMES(G("Bjørn"), G("Ståle"), G("Øystein"), G("Håkon"), {NULL, NULL}),
     LIST("Oslo", "Bergen", "Tromsø", "Ålesund"),
     LIST("Storgata", "Kirkeveien", "Bjørnstjerne Bjørnsons gate")},
    {"KEN", 15, "254", 9, 5, "safaricom.co.ke",
     "National Olympic Committee of Kenya",
     NAMES(G("Kiprop"), G("Wanjiru"), G("Otieno"), G("Kipchoge"), G("Chebet"),
           {NULL, NULL}),
     NAMES(G("Faith"), G("Mercy"), G("Wambui"), G("Akinyi"), {NULL, NULL}),
     NAMES(G("Eliud"), G("David"), G("Kamau"), G("Ochieng"), {NULL, NULL}),
     LIST("Nairobi", "Eldoret", "Mombasa", "Kisumu"),
     LIST("Kenyatta Avenue", "Moi Avenue", "Ngong Road")},
};

/* A 16x16 baseline JPEG made once with libjpeg: every photo is this one. */
static const unsigned char tiny_jpeg[] = {
    0xff, 0xd8, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x14, 0x0e, 0x0f, 0x12, 0x0f,
    0x0d, 0x14, 0x12, 0x10, 0x12, 0x17, 0x15, 0x14, 0x18, 0x1e, 0x32, 0x21,
    0x1e, 0x1c, 0x1c, 0x1e, 0x3d, 0x2c, 0x2e, 0x24, 0x32, 0x49, 0x40, 0x4c,
    0x4b, 0x47, 0x40, 0x46, 0x45, 0x50, 0x5a, 0x73, 0x62, 0x50, 0x55, 0x6d,
    0x56, 0x45, 0x46, 0x64, 0x88, 0x65, 0x6d, 0x77, 0x7b, 0x81, 0x82, 0x81,
    0x4e, 0x60, 0x8d, 0x97, 0x8c, 0x7d, 0x96, 0x73, 0x7e, 0x81, 0x7c, 0xff,
    0xdb, 0x00, 0x43, 0x01, 0x15, 0x17, 0x17, 0x1e, 0x1a, 0x1e, 0x3b, 0x21,
    0x21, 0x3b, 0x7c, 0x53, 0x46, 0x53, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c,
    0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c,
    0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c,
    0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c,
    0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0x7c, 0xff, 0xc0, 0x00, 0x11,
    0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01,
    0x03, 0x11, 0x01, 0xff, 0xc4, 0x00, 0x1f, 0x00, 0x00, 0x01, 0x05, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04,
    0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03,
    0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
    0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1,
    0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34,
    0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,
    0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
    0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
    0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93,
    0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9,
    0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
    0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5,
    0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00, 0x02, 0x01, 0x02, 0x04, 0x04, 0x03,
    0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00, 0x01, 0x02,
    0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
    0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1,
    0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24,
    0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77,
    0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
    0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4,
    0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4,
    0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11,
    0x03, 0x11, 0x00, 0x3f, 0x00, 0x82, 0xce, 0xdd, 0x67, 0x76, 0x2f, 0xf7,
    0x57, 0xb0, 0xef, 0x4f, 0xbd, 0xb6, 0x48, 0x40, 0x78, 0xf8, 0x04, 0xe0,
    0x8c, 0xd5, 0x78, 0xa5, 0x78, 0x5f, 0x72, 0x1e, 0x7f, 0x9d, 0x2c, 0xd3,
    0xbc, 0xe4, 0x17, 0xc7, 0x1d, 0x00, 0x1d, 0x2b, 0xa9, 0xc6, 0x7e, 0xd2,
    0xf7, 0xd0, 0xcf, 0x9a, 0x3c, 0x96, 0xb6, 0xa7, 0xff, 0xd9};

struct category {
    const char *name;
    unsigned weight; /* per mille */
    int is_protected;
    const char *const *orgs; /* NULL: the person's national committee */
    const char *const *functions;
};

static const struct category categories[] = {
    {"athlete", 250, 0, NULL, LIST("Athlete", "Athlète remplaçant")},
    {"team_official", 100, 0, NULL,
     LIST("Chef de mission", "Coach", "Team doctor", "Physiotherapist")},
    {"technical_official", 50, 0,
     LIST("World Athletics", "FIFA", "Union Cycliste Internationale",
          "World Aquatics", "Fédération Internationale d'Escrime"),
     LIST("Judge", "Referee", "Timekeeper")},
    {"media", 90, 0,
     LIST("Agence France-Presse", "Reuters", "Le Monde", "L'Équipe",
          "Asahi Shimbun", "Süddeutsche Zeitung"),
     LIST("Journalist", "Photographer", "Editor")},
    {"broadcaster", 60, 0,
     LIST("Olympic Broadcasting Services", "France Télévisions", "NBC", "BBC",
          "ARD"),
     LIST("Camera operator", "Commentator", "Producer")},
    {"organising_staff", 80, 0, LIST("Paris 2024"),
     LIST("Venue manager", "Logistics", "Accreditation officer")},
    {"volunteer", 200, 0, LIST("Paris 2024 Volontaires"),
     LIST("Spectator services", "Driver", "Language services")},
    {"contractor", 60, 0,
     LIST("Atos", "Sodexo Live!", "Orange Business", "GL events"),
     LIST("Technician", "Catering", "Cleaning")},
    {"olympic_family", 20, 0, LIST("Comité International Olympique"),
     LIST("Member", "Guest")},
    {"security_force", 40, 1,
     LIST("Police nationale", "Gendarmerie nationale", "Préfecture de police"),
     LIST("Officer", "Commander")},
    {"public_authority", 10, 1,
     LIST("Ministère de l'Intérieur", "Ministère des Sports",
          "Délégation interministérielle aux Jeux"),
     LIST("Official", "Liaison officer")},
    {"medical", 20, 0, LIST("AP-HP", "SAMU de Paris", "Croix-Rouge française"),
     LIST("Doctor", "Nurse", "Paramedic")},
    {"transport", 20, 0, LIST("RATP", "SNCF", "Île-de-France Mobilités"),
     LIST("Driver", "Dispatcher")},
};

static const char *const venues[] = {
    "SDF",
    "PDP",
    "BERCY",
    "ROLAND_GARROS",
    "VERSAILLES",
    "MARSEILLE_MARINA",
    "LA_DEFENSE_ARENA",
    "GRAND_PALAIS",
    "CONCORDE",
    "TROCADERO",
    "INVALIDES",
    "CHAMP_DE_MARS",
    "EIFFEL_STADIUM",
    "AQUATICS_CENTRE",
    "VAIRES_NAUTICAL",
    "LE_BOURGET",
    "VILLAGE",
    "IBC_MPC",
    "CHATEAUROUX",
    "TEAHUPOO",
    "LILLE_STADIUM",
    "LYON_STADIUM",
    "NICE_STADIUM",
    "SAINT_ETIENNE",
};
static const char *const zones[] = {
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "RED", "BLUE", "OFR",
};
static const char *const transports[] = {"T1", "T2", "TA", "TF", "TM", "TT"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t
next64(struct coffre_gen *g)
{
    uint64_t z = (g->state += 0x9e3779b97f4a7c15ull);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned
below(struct coffre_gen *g, unsigned n)
{
    return (unsigned)((next64(g) >> 32) * n >> 32);
}

static size_t
count_names(const struct gname *v)
{
    size_t n = 0;

    while (v[n].native != NULL) {
        n++;
    }
    return n;
}

static size_t
count_list(const char *const *v)
{
    size_t n = 0;

    while (v[n] != NULL) {
        n++;
    }
    return n;
}

static const struct gname *
pick_name(struct coffre_gen *g, const struct gname *v)
{
    return &v[below(g, (unsigned)count_names(v))];
}

static const char *
pick(struct coffre_gen *g, const char *const *v)
{
    return v[below(g, (unsigned)count_list(v))];
}

static const struct origin *
pick_origin(struct coffre_gen *g)
{
    unsigned r = below(g, 1000);

    for (size_t i = 0; i < COUNT(origins); i++) {
        if (r < origins[i].weight) {
            return &origins[i];
        }
        r -= origins[i].weight;
    }
    return &origins[0];
}

static const struct category *
pick_category(struct coffre_gen *g)
{
    unsigned r = below(g, 1000);

    for (size_t i = 0; i < COUNT(categories); i++) {
        if (r < categories[i].weight) {
            return &categories[i];
        }
        r -= categories[i].weight;
    }
    return &categories[0];
}

static int
sets(char **slot, const char *s)
{
    *slot = coffre_pmem_strdup(s);
    return *slot != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
}

/* A tiny string builder: printf would be most of the generator's time. */
struct sb {
    char b[320];
    size_t n;
};

static void
sb_s(struct sb *sb, const char *s)
{
    size_t k = strlen(s);

    if (k > sizeof(sb->b) - 1 - sb->n) {
        k = sizeof(sb->b) - 1 - sb->n;
    }
    memcpy(sb->b + sb->n, s, k);
    sb->n += k;
    sb->b[sb->n] = '\0';
}

/* ${v} in decimal, zero-padded to ${width} digits. */
static void
sb_u(struct sb *sb, unsigned long long v, unsigned width)
{
    char t[24];
    unsigned k = 0;

    do {
        t[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0 || k < width);
    while (k > 0 && sb->n < sizeof(sb->b) - 1) {
        sb->b[sb->n++] = t[--k];
    }
    sb->b[sb->n] = '\0';
}

/* Room for ${n} items at once: one allocation instead of one per item. */
static int
list_reserve(struct coffre_strlist *l, size_t n)
{
    l->v = coffre_pmem_alloc(n * sizeof(*l->v));
    return l->v != NULL ? COFFRE_OK : COFFRE_ERR_NOMEM;
}

/* Appends ${s} unless present; the room was reserved. */
static int
list_add(struct coffre_strlist *l, const char *s)
{
    char **v;

    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], s) == 0) {
            return COFFRE_OK; /* lists of distinct items */
        }
    }
    v = l->v;
    if ((v[l->n] = coffre_pmem_strdup(s)) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    l->n++;
    return COFFRE_OK;
}

/* The civil date of day ${z} since 1970-01-01 (Hinnant's algorithm). */
static void
civil_from_days(int64_t z, int *py, int *pm, int *pd)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);

    *pd = (int)(doy - (153 * mp + 2) / 5 + 1);
    *pm = m;
    *py = (int)(yoe + era * 400 + (m <= 2));
}

/* ${y}-${m}-${d} into ${s}: by hand, printf would be a third of the
 * generator's time. */
static void
ymd_text(int y, int m, int d, char s[11])
{
    s[0] = (char)('0' + y / 1000 % 10);
    s[1] = (char)('0' + y / 100 % 10);
    s[2] = (char)('0' + y / 10 % 10);
    s[3] = (char)('0' + y % 10);
    s[4] = '-';
    s[5] = (char)('0' + m / 10);
    s[6] = (char)('0' + m % 10);
    s[7] = '-';
    s[8] = (char)('0' + d / 10);
    s[9] = (char)('0' + d % 10);
    s[10] = '\0';
}

/* A day between ${lo} and ${lo} + ${span} - 1 days from today. */
static int
day_near(struct coffre_gen *g, char **slot, int lo, unsigned span)
{
    char s[11];
    int y, m, d;

    civil_from_days(g->today + lo + (int64_t)below(g, span), &y, &m, &d);
    ymd_text(y, m, d, s);
    return sets(slot, s);
}

/* A day of a year between this year + ${y0} and ${years} - 1 after it
 * (birth dates, document expiry). */
static int
date(struct coffre_gen *g, char **slot, int y0, int years)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
    int ty, tm, td;
    char s[11];

    civil_from_days(g->today, &ty, &tm, &td);
    int y = ty + y0 + (int)below(g, (unsigned)years);
    int m = 1 + (int)below(g, 12);
    int dim =
        mdays[m - 1] + (m == 2 && y % 4 == 0 && (y % 100 || y % 400 == 0));
    ymd_text(y, m, 1 + (int)below(g, (unsigned)dim), s);
    return sets(slot, s);
}

static int
gen_public(struct coffre_gen *g, struct coffre_person *p,
           const struct origin *o)
{
    const struct category *c = pick_category(g);
    unsigned nv = 1 + below(g, 3), nz = 1 + below(g, 4);
    int rc;

    p->is_protected = c->is_protected;
    struct sb key = {.n = 0};

    sb_s(&key, "SRC-");
    sb_u(&key, g->counter, 10);
    if ((rc = sets(&p->source_key, key.b)) != COFFRE_OK ||
        (rc = sets(&p->category, c->name)) != COFFRE_OK ||
        (rc = sets(&p->organisation,
                   c->orgs != NULL ? pick(g, c->orgs) : o->noc)) != 0 ||
        (rc = sets(&p->function, pick(g, c->functions))) != 0 ||
        (rc = day_near(g, &p->valid_from, -60, 61)) != COFFRE_OK ||
        (rc = day_near(g, &p->valid_until, 7, 60)) != COFFRE_OK) {
        return rc;
    }
    if ((rc = list_reserve(&p->venues, nv)) != COFFRE_OK ||
        (rc = list_reserve(&p->zones, nz)) != COFFRE_OK) {
        return rc;
    }
    for (unsigned i = 0; i < nv && rc == COFFRE_OK; i++) {
        rc = list_add(&p->venues, venues[below(g, COUNT(venues))]);
    }
    for (unsigned i = 0; i < nz && rc == COFFRE_OK; i++) {
        rc = list_add(&p->zones, zones[below(g, COUNT(zones))]);
    }
    if (rc == COFFRE_OK && below(g, 3) == 0) {
        rc = sets(&p->transport_code, transports[below(g, COUNT(transports))]);
    }
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_PUBLIC);
    return rc;
}

static int
gen_identity(struct coffre_gen *g, struct coffre_person *p,
             const struct origin *o, const struct gname **psur,
             const struct gname **pgiven)
{
    int female = below(g, 2) == 0;
    int rc;

    *psur = pick_name(g, o->surnames);
    *pgiven = pick_name(g, female ? o->female : o->male);
    if ((rc = sets(&p->surname, (*psur)->native)) != COFFRE_OK ||
        (rc = sets(&p->given_names, (*pgiven)->native)) != 0 ||
        (rc = sets(&p->sex, below(g, 200) == 0 ? "X"
                            : female           ? "F"
                                               : "M")) != 0 ||
        (rc = date(g, &p->birth_date, -74, 59)) != COFFRE_OK ||
        (rc = sets(&p->birth_place, pick(g, o->cities))) != 0 ||
        (rc = sets(&p->birth_country, o->country)) != COFFRE_OK ||
        (rc = list_reserve(&p->nationalities, 2)) != COFFRE_OK ||
        (rc = list_add(&p->nationalities, o->country)) != COFFRE_OK) {
        return rc;
    }
    if (below(g, 10) == 0) { /* dual nationals */
        rc = list_add(&p->nationalities,
                      origins[below(g, COUNT(origins))].country);
    }
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_IDENTITY);
    return rc;
}

/* The ASCII form of a name for an email local part, at most 20 letters. */
static void
ascii_name(const struct gname *n, char out[21])
{
    if (n->latin != NULL) {
        snprintf(out, 21, "%s", n->latin);
    } else if (coffre_norm_ascii(n->native, out, 21) == 0) {
        snprintf(out, 21, "x");
    }
}

static int
gen_postal(struct coffre_gen *g, struct coffre_person *p,
           const struct origin *o)
{
    static const char *const uk[] = {"SW1A 1AA", "M1 1AE", "EH1 1YZ",
                                     "CF10 1EP"};
    struct sb code = {.n = 0};

    if (o->postal_len == 0) {
        return sets(&p->postal_code, uk[below(g, COUNT(uk))]);
    }
    sb_u(&code, 1 + below(g, 9), 1);
    while (code.n < o->postal_len) {
        sb_u(&code, below(g, 10), 1);
    }
    return sets(&p->postal_code, code.b);
}

static int
gen_contact(struct coffre_gen *g, struct coffre_person *p,
            const struct origin *o, const struct gname *sur,
            const struct gname *given)
{
    char a[21], b[21];
    struct sb phone = {.n = 0}, addr = {.n = 0}, mail = {.n = 0};
    int rc;

    sb_s(&phone, "+");
    sb_s(&phone, o->phone_cc);
    sb_u(&phone, 1 + below(g, 9), 1);
    while (phone.n < strlen(o->phone_cc) + 1 + o->phone_len) {
        sb_u(&phone, below(g, 10), 1);
    }
    sb_u(&addr, 1 + below(g, 180), 1);
    sb_s(&addr, " ");
    sb_s(&addr, pick(g, o->streets));
    /* The counter in the local part makes addresses unique. */
    ascii_name(given, a);
    ascii_name(sur, b);
    sb_s(&mail, a);
    sb_s(&mail, ".");
    sb_s(&mail, b);
    sb_s(&mail, ".");
    sb_u(&mail, g->counter, 1);
    sb_s(&mail, "@");
    sb_s(&mail, o->domain);
    if ((rc = sets(&p->address, addr.b)) != COFFRE_OK ||
        (rc = gen_postal(g, p, o)) != COFFRE_OK ||
        (rc = sets(&p->city, pick(g, o->cities))) != COFFRE_OK ||
        (rc = sets(&p->country, o->country)) != COFFRE_OK ||
        (rc = sets(&p->email, mail.b)) != COFFRE_OK ||
        (rc = sets(&p->phone, phone.b)) != COFFRE_OK) {
        return rc;
    }
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_CONTACT);
    return COFFRE_OK;
}

static int
gen_document(struct coffre_gen *g, struct coffre_person *p,
             const struct origin *o)
{
    static const char *const types[] = {"passport", "passport", "id_card",
                                        "residence_permit",
                                        "diplomatic_passport"};
    struct sb num = {.n = 0};
    char letters[3] = {(char)('A' + below(g, 26)), (char)('A' + below(g, 26)),
                       '\0'};
    int rc;

    /* The counter makes numbers unique; the letters make them look real. */
    sb_s(&num, letters);
    sb_u(&num, g->counter, 9);
    if ((rc = sets(&p->doc_type, types[below(g, COUNT(types))])) != 0 ||
        (rc = sets(&p->doc_number, num.b)) != COFFRE_OK ||
        (rc = sets(&p->doc_country, o->country)) != COFFRE_OK ||
        (rc = date(g, &p->doc_expiry, 2, 10)) != COFFRE_OK) {
        return rc;
    }
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_DOCUMENT);
    return COFFRE_OK;
}

/* A verdict of the last four months, at a random time of day. */
static int
decided_at(struct coffre_gen *g, char **slot)
{
    struct sb t = {.n = 0};
    char day[11];
    int y, m, d;

    civil_from_days(g->today - 1 - (int64_t)below(g, 120), &y, &m, &d);
    ymd_text(y, m, d, day);
    sb_s(&t, day);
    sb_s(&t, "T");
    sb_u(&t, below(g, 24), 2);
    sb_s(&t, ":");
    sb_u(&t, below(g, 60), 2);
    sb_s(&t, ":");
    sb_u(&t, below(g, 60), 2);
    sb_s(&t, "Z");
    return sets(slot, t.b);
}

static int
gen_vetting(struct coffre_gen *g, struct coffre_person *p)
{
    static const char *const st[] = {"pending", "favourable", "favourable",
                                     "favourable", "unfavourable"};
    const char *s = st[below(g, COUNT(st))];
    int rc;

    if ((rc = sets(&p->vetting_status, s)) != COFFRE_OK) {
        return rc;
    }
    if (strcmp(s, "pending") != 0 &&
        ((rc = decided_at(g, &p->vetting_decided_at)) != COFFRE_OK ||
         (rc = sets(&p->vetting_decided_by, below(g, 2) ? "SNEAS" : "DGSI")) !=
             COFFRE_OK)) {
        return rc;
    }
    /* The lifecycle follows the verdict, as it would in the vault. */
    p->state = s[0] == 'p'   ? COFFRE_STATE_VETTING
               : s[0] == 'u' ? COFFRE_STATE_REFUSED
               : below(g, 2) ? COFFRE_STATE_BADGE_ISSUED
                             : COFFRE_STATE_APPROVED;
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_VETTING);
    return COFFRE_OK;
}

static int
gen_photo(struct coffre_person *p)
{
    if ((p->photo = coffre_pmem_alloc(sizeof(tiny_jpeg))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    memcpy(p->photo, tiny_jpeg, sizeof(tiny_jpeg));
    p->photo_len = sizeof(tiny_jpeg);
    p->classes |= COFFRE_CLASS_BIT(COFFRE_CLASS_PHOTO);
    return COFFRE_OK;
}

int
coffre_gen_new(const struct coffre_gen_opts *opts, struct coffre_gen **pg)
{
    struct coffre_gen *g;

    if (pg == NULL) {
        return COFFRE_ERR_ARG;
    }
    if ((g = coffre_pmem_calloc(1, sizeof(*g))) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    g->state = opts != NULL ? opts->seed : 0;
    g->photos = opts != NULL && opts->photos;
    /* 2024-07-26, the Paris opening ceremony, when no day is given. */
    g->today = opts != NULL && opts->today != 0 ? opts->today : 19930;
    *pg = g;
    return COFFRE_OK;
}

int
coffre_gen_next(struct coffre_gen *g, struct coffre_person **pp)
{
    const struct gname *sur, *given;
    const struct origin *o;
    struct coffre_person *p;
    int rc;

    if (g == NULL || pp == NULL) {
        return COFFRE_ERR_ARG;
    }
    *pp = NULL;
    if ((p = coffre_person_new()) == NULL) {
        return COFFRE_ERR_NOMEM;
    }
    g->counter++;
    o = pick_origin(g);
    if ((rc = gen_public(g, p, o)) != COFFRE_OK ||
        (rc = gen_identity(g, p, o, &sur, &given)) != COFFRE_OK ||
        (below(g, 20) != 0 &&
         (rc = gen_contact(g, p, o, sur, given)) != COFFRE_OK) ||
        (below(g, 10) != 0 && (rc = gen_document(g, p, o)) != COFFRE_OK) ||
        (below(g, 5) < 3 && (rc = gen_vetting(g, p)) != COFFRE_OK) ||
        (g->photos && (rc = gen_photo(p)) != COFFRE_OK)) {
        coffre_person_free(p);
        return rc;
    }
    *pp = p;
    return COFFRE_OK;
}

int64_t
coffre_gen_today(void)
{
    time_t t = time(NULL);

    return t < 0 ? 0 : (int64_t)t / 86400;
}

/* Days from 1970-01-01 to ${y}-${m}-${d} (Hinnant's algorithm). */
static int64_t
days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

int
coffre_gen_parse_day(const char *s, int64_t *pday)
{
    int v[3] = {0, 0, 0}, y, m, d;
    static const int width[3] = {4, 2, 2};

    if (s == NULL || pday == NULL || strlen(s) != 10) {
        return COFFRE_ERR_PARSE;
    }
    for (int f = 0, i = 0; f < 3; f++, i++) {
        for (int k = 0; k < width[f]; k++, i++) {
            if (s[i] < '0' || s[i] > '9') {
                return COFFRE_ERR_PARSE;
            }
            v[f] = v[f] * 10 + (s[i] - '0');
        }
        if (f < 2 && s[i] != '-') {
            return COFFRE_ERR_PARSE;
        }
    }
    if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1) {
        return COFFRE_ERR_PARSE;
    }
    /* A real day: the round trip gives the same date back. */
    *pday = days_from_civil(v[0], v[1], v[2]);
    civil_from_days(*pday, &y, &m, &d);
    return y == v[0] && m == v[1] && d == v[2] ? COFFRE_OK : COFFRE_ERR_PARSE;
}

void
coffre_gen_free(struct coffre_gen *g)
{
    coffre_pmem_free(g);
}

# Die Wörter des Messengers, auf Deutsch.

## The page and the bubble
chat-with = Chat mit { $team }
page-description = Frag { $team }, was du wissen möchtest: Eine Person oder unser Assistent antwortet hier.
open-chat = Chat öffnen
open-chat-unread = Chat öffnen ({ $count } ungelesen)
close-chat = Chat schließen

## The header
team-online = Das Team ist online
away-now = Gerade nicht erreichbar
reply-time-minutes = Antwortet meist in wenigen Minuten
reply-time-hour = Antwortet meist in unter einer Stunde
reply-time-hours = Antwortet meist in wenigen Stunden
reply-time-day = Antwortet meist innerhalb eines Tages
download-conversation = Dieses Gespräch herunterladen
back-to-conversation = Zurück zum Gespräch
your-conversations = Deine Gespräche
new-conversation = Neues Gespräch
status-resolved = Gelöst
unread-count = { $count } ungelesen

## The texts admins may change, while they are the defaults
greeting-default = Hallo
intro-default = Frag uns alles über Bohnen, Zubereitung oder deine Bestellung – wir helfen gern.
away-default = Wir sind gerade nicht da. Hinterlass eine Nachricht, wir antworten dir hier, sobald wir zurück sind.
away-plain = Wir sind gerade nicht da. Hinterlass eine Nachricht, wir antworten, sobald wir zurück sind.

## The assistant
assistant-answering = Du chattest mit unserem KI-Assistenten.
talk-to-person = Mit einer Person sprechen
assistant-name = Assistent
ai-badge = KI
assistant-writing = schreibt…
sources = Quellen
did-that-help = Hat dir das geholfen?
helped-yes = Ja, danke
helped-no = Nein, mit einer Person sprechen
helped-said-yes = Schön, dass es geholfen hat!
helped-said-no = Danke für den Hinweis: Jemand aus dem Team übernimmt.
assistant-fallback = Jemand aus dem Team antwortet dir hier bald.
assistant-handed-over = Ich habe das Team dazugeholt. Jemand aus dem Team antwortet dir hier bald.
assistant-do-not-know = Dazu habe ich in unseren Hilfeartikeln nichts gefunden, also rate ich lieber nicht. Jemand aus dem Team kann dir antworten: Wähle unten „Mit einer Person sprechen“.

## A resolved conversation and its rating
resolved-reopen = Dieses Gespräch wurde gelöst. Schreib unten, um es wieder zu öffnen, oder
start-new = beginne ein neues Gespräch
how-did-we-do = Wie war unser Service?
rating-1 = Furchtbar
rating-2 = Schlecht
rating-3 = Okay
rating-4 = Gut
rating-5 = Super
rated = Deine Bewertung: { $rating }. Danke!
rating-comment = Möchtest du noch etwas sagen? (optional)

## The visitor's name and email
chatting-as = Du chattest als { $who } · ändern
add-profile = Hinterlass Namen und E-Mail, damit wir dir antworten können
name = Name
email = E-Mail

## Buttons
send = Senden
save = Speichern
cancel = Abbrechen
delete = Löschen
retry = Erneut versuchen
dismiss = Hinweis schließen

## The composer
message = Nachricht
write-message = Schreib eine Nachricht…
attach-files = Dateien anhängen
attach-files-hint = Dateien anhängen (oder hier einfügen oder ablegen)
insert-emoji = Emoji einfügen
emoji = Emoji
insert-this = { $emoji } einfügen
characters-left = Noch { $count } Zeichen

## The connection
offline = Du bist offline. Was du schreibst, wird gesendet, sobald du wieder online bist.
reconnecting-banner = Verbindung wird wiederhergestellt… Was du schreibst, wird gesendet, sobald die Verbindung steht.
not-connected = Nicht verbunden
connecting = Verbindung wird hergestellt…
online = Online
reconnecting = Verbindung wird wiederhergestellt…

## Messages
messages = Nachrichten
beginning = Anfang des Gesprächs
load-earlier = Frühere Nachrichten laden
show-newer = Neuere Nachrichten anzeigen
new-messages = Neue Nachrichten ↓
typing-one = { $name } schreibt…
typing-many = { $names } und { $last } schreiben…
seen = Gesehen
delivered = Zugestellt
sent = Gesendet
message-deleted = Diese Nachricht wurde gelöscht
edited = (bearbeitet)
message-actions = Aktionen für die Nachricht
react = Reagieren
react-with = Mit { $emoji } reagieren
pick-reaction = Reaktion wählen
edit = Bearbeiten
edit-message = Nachricht bearbeiten
confirm-delete = Diese Nachricht für alle löschen?
sending = Wird gesendet…
not-sent = Nicht gesendet – { $reason }

## Files
open-picture = Bild { $name } in voller Größe öffnen
picture-of = { $at } von { $count }
uploading = { $name } wird hochgeladen
remove-file = { $name } entfernen
close-picture = Bild schließen
previous-picture = Vorheriges Bild
next-picture = Nächstes Bild

## Searching the help center
search-help = Hilfe durchsuchen
articles-found = { $count ->
    [one] 1 Artikel gefunden
   *[other] { $count } Artikel gefunden
}
back-to-results = Zurück zu den Ergebnissen
open-in-help-center = Im Hilfe-Center öffnen
article-unpublished = Dieser Artikel ist nicht mehr veröffentlicht.

## Times
just-now = gerade eben
minutes-ago = vor { $minutes } Min.
hours-ago = vor { $hours } Std.
yesterday-at = Gestern { $clock }
date-this-year = { $day }. { $month }, { $clock }
date-other-year = { $day }. { $month } { $year }, { $clock }
month-1 = Jan.
month-2 = Feb.
month-3 = März
month-4 = Apr.
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = Aug.
month-9 = Sept.
month-10 = Okt.
month-11 = Nov.
month-12 = Dez.

## What the server refused, in the visitor's words
refused-empty = Schreib zuerst etwas: Die Nachricht ist leer.
refused-too-long = Diese Nachricht ist zu lang: Teil sie in kürzere auf.
refused-too-fast = Du sendest sehr schnell. Warte einen Moment und versuch es dann noch einmal.
refused-too-many-conversations = Du hast in letzter Zeit viele Gespräche begonnen. Schreib in einem davon oder versuch es in einer Stunde noch einmal.
refused-storage-full = Der Server kann gerade keine Nachrichten speichern. Versuch es in ein paar Minuten noch einmal.
refused-server = Bei uns ist etwas schiefgegangen. Versuch es noch einmal.
refused-edit-window = Diese Nachricht kann nicht mehr geändert werden.
refused-profile = Prüf deinen Namen und deine E-Mail: Eins davon ist ungültig.
refused-files = Eine der Dateien konnte nicht mit dieser Nachricht gesendet werden. Häng sie noch einmal an.
refused-not-yours = Du kannst nur deine eigenen Nachrichten ändern.
refused-forbidden = Dieses Gespräch ist nicht mehr verfügbar.
refused-blocked = Du kannst in diesem Chat keine Nachrichten mehr senden.

## More of the messenger
opens-new-tab = (öffnet in einem neuen Tab)
download-hint = (herunterladen)
attached-files = Angehängte Dateien
file-waiting = Warte auf das Netzwerk…
file-ready = Bereit
file-not-accepted = Eine Datei wurde nicht angenommen: Entferne sie oder versuch es zuerst noch einmal.
help-no-match = Keine Artikel gefunden. Frag uns unten: Wir helfen gern.
help-articles = Hilfeartikel
loading = Wird geladen…
chat = Chat
file-lost = Die Datei ging beim Neuladen der Seite verloren. Häng sie noch einmal an.
file-not-started = Dein Browser konnte das Hochladen nicht starten.
refused-unverified = Dieser Chat ist für angemeldete Kunden. Melde dich auf der Website an und öffne den Chat dann noch einmal.
refused-not-possible = Das geht hier nicht.
file-too-big = Diese Datei ist zu groß zum Senden.
file-type-not-allowed = Dateien dieses Typs können hier nicht gesendet werden.
file-empty = Diese Datei ist leer.
file-picture-too-large = Dieses Bild ist zu groß zum Senden.
file-picture-unreadable = Dieses Bild konnte nicht gelesen werden.
file-conversation-full = Dieses Gespräch kann keine weiteren Dateien aufnehmen.
open-chat-unread-one = Chat öffnen (1 ungelesen)
kind-pdf = PDF
kind-zip = ZIP
kind-text = Text
kind-image = Bild
kind-document = Dokument
kind-spreadsheet = Tabelle
kind-slides = Präsentation
kind-file = Datei
help-unavailable = Das Hilfe-Center ist gerade nicht erreichbar. Frag uns stattdessen unten.

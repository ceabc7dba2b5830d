# Les mots du messenger, en français.

## The page and the bubble
chat-with = Discuter avec { $team }
page-description = Posez toutes vos questions à { $team } : une personne ou notre assistant vous répond ici.
open-chat = Ouvrir le chat
open-chat-unread = Ouvrir le chat ({ $count ->
    [one] { $count } non lu
   *[other] { $count } non lus
})
close-chat = Fermer le chat

## The header
team-online = L'équipe est en ligne
away-now = Absents pour le moment
reply-time-minutes = Répond généralement en quelques minutes
reply-time-hour = Répond généralement en moins d'une heure
reply-time-hours = Répond généralement en quelques heures
reply-time-day = Répond généralement sous 24 heures
download-conversation = Télécharger cette conversation
back-to-conversation = Retour à la conversation
your-conversations = Vos conversations
new-conversation = Nouvelle conversation
status-resolved = Résolue
unread-count = { $count ->
    [one] { $count } non lu
   *[other] { $count } non lus
}

## The texts admins may change, while they are the defaults
greeting-default = Bonjour
intro-default = Posez-nous vos questions sur nos cafés, leur préparation ou votre commande : nous sommes là pour vous aider.
away-default = Nous sommes absents pour le moment. Laissez un message et nous vous répondrons ici à notre retour.
away-plain = Nous sommes absents pour le moment. Laissez un message et nous vous répondrons à notre retour.

## The assistant
assistant-answering = Vous discutez avec notre assistant IA.
talk-to-person = Parler à une personne
assistant-name = Assistant
ai-badge = IA
assistant-writing = écrit…
sources = Sources
did-that-help = Cela vous a-t-il aidé ?
helped-yes = Oui, merci
helped-no = Non, parler à une personne
helped-said-yes = Ravis d'avoir pu vous aider !
helped-said-no = Merci de nous l'avoir dit : un membre de l'équipe prend le relais.
assistant-fallback = Un membre de l'équipe vous répondra ici très vite.
assistant-handed-over = J'ai demandé à l'équipe de nous rejoindre. Un membre de l'équipe vous répondra ici très vite.
assistant-do-not-know = Je n'ai rien trouvé à ce sujet dans nos articles d'aide, je préfère donc ne pas deviner. Un membre de l'équipe peut vous répondre : choisissez « Parler à une personne » ci-dessous.

## A resolved conversation and its rating
resolved-reopen = Cette conversation a été résolue. Écrivez ci-dessous pour la rouvrir, ou
start-new = commencez une nouvelle conversation
how-did-we-do = Êtes-vous satisfait de notre aide ?
rating-1 = Très mal
rating-2 = Mal
rating-3 = Correct
rating-4 = Bien
rating-5 = Excellent
rated = Votre note : { $rating }. Merci !
rating-comment = Quelque chose à ajouter ? (facultatif)

## The visitor's name and email
chatting-as = Vous discutez en tant que { $who } · modifier
add-profile = Laissez votre nom et votre e-mail pour que nous puissions vous répondre
name = Nom
email = E-mail

## Buttons
send = Envoyer
save = Enregistrer
cancel = Annuler
delete = Supprimer
retry = Réessayer
dismiss = Fermer l'avis

## The composer
message = Message
write-message = Écrivez un message…
attach-files = Joindre des fichiers
attach-files-hint = Joindre des fichiers (ou collez-les ou déposez-les ici)
insert-emoji = Insérer un emoji
emoji = Emoji
insert-this = Insérer { $emoji }
characters-left = { $count ->
    [one] { $count } caractère restant
   *[other] { $count } caractères restants
}

## The connection
offline = Vous êtes hors ligne. Vos messages seront envoyés dès votre retour en ligne.
reconnecting-banner = Reconnexion… Vos messages seront envoyés dès que la connexion sera rétablie.
not-connected = Non connecté
connecting = Connexion…
online = En ligne
reconnecting = Reconnexion…

## Messages
messages = Messages
beginning = Début de la conversation
load-earlier = Charger les messages précédents
show-newer = Afficher les messages plus récents
new-messages = Nouveaux messages ↓
typing-one = { $name } écrit…
typing-many = { $names } et { $last } écrivent…
seen = Vu
delivered = Distribué
sent = Envoyé
message-deleted = Ce message a été supprimé
edited = (modifié)
message-actions = Actions sur le message
react = Réagir
react-with = Réagir avec { $emoji }
pick-reaction = Choisissez une réaction
edit = Modifier
edit-message = Modifier le message
confirm-delete = Supprimer ce message pour tout le monde ?
sending = Envoi…
not-sent = Non envoyé : { $reason }

## Files
open-picture = Ouvrir l'image { $name } en taille réelle
picture-of = { $at } sur { $count }
uploading = Envoi de { $name }
remove-file = Retirer { $name }
close-picture = Fermer l'image
previous-picture = Image précédente
next-picture = Image suivante

## Searching the help center
search-help = Chercher de l'aide
articles-found = { $count ->
    [one] { $count } article trouvé
   *[other] { $count } articles trouvés
}
back-to-results = Retour aux résultats
open-in-help-center = Ouvrir dans le centre d'aide
article-unpublished = Cet article n'est plus publié.

## Times
just-now = à l'instant
minutes-ago = il y a { $minutes } min
hours-ago = il y a { $hours } h
yesterday-at = Hier { $clock }
date-this-year = { $day } { $month }, { $clock }
date-other-year = { $day } { $month } { $year }, { $clock }
month-1 = janv.
month-2 = févr.
month-3 = mars
month-4 = avr.
month-5 = mai
month-6 = juin
month-7 = juil.
month-8 = août
month-9 = sept.
month-10 = oct.
month-11 = nov.
month-12 = déc.

## What the server refused, in the visitor's words
refused-empty = Écrivez d'abord quelque chose : le message est vide.
refused-too-long = Ce message est trop long : découpez-le en messages plus courts.
refused-too-fast = Vous envoyez des messages très vite. Patientez un instant, puis réessayez.
refused-too-many-conversations = Vous avez commencé beaucoup de conversations récemment. Écrivez dans l'une d'elles, ou réessayez dans une heure.
refused-storage-full = Le serveur ne peut pas enregistrer de messages pour le moment. Réessayez dans quelques minutes.
refused-server = Un problème est survenu de notre côté. Réessayez.
refused-edit-window = Ce message ne peut plus être modifié.
refused-profile = Vérifiez votre nom et votre e-mail : l'un des deux n'est pas valide.
refused-files = L'un des fichiers n'a pas pu être envoyé avec ce message. Joignez-le à nouveau.
refused-not-yours = Vous ne pouvez modifier que vos propres messages.
refused-forbidden = Cette conversation n'est plus disponible.
refused-blocked = Vous ne pouvez plus envoyer de messages dans ce chat.

## More of the messenger
opens-new-tab = (s'ouvre dans un nouvel onglet)
download-hint = (télécharger)
attached-files = Fichiers joints
file-waiting = En attente du réseau…
file-ready = Prêt
file-not-accepted = Un fichier n'a pas été accepté : retirez-le ou réessayez d'abord.
help-no-match = Aucun article ne correspond. Posez-nous la question ci-dessous : nous serons ravis de vous aider.
help-articles = Articles d'aide
loading = Chargement…
chat = Chat
file-lost = Le fichier a été perdu au rechargement de la page. Joignez-le à nouveau.
file-not-started = Votre navigateur n'a pas pu commencer l'envoi.
refused-unverified = Ce chat est réservé aux clients connectés. Connectez-vous sur le site, puis rouvrez le chat.
refused-not-possible = Ce n'est pas possible ici.
file-too-big = Ce fichier est trop volumineux pour être envoyé.
file-type-not-allowed = Les fichiers de ce type ne peuvent pas être envoyés ici.
file-empty = Ce fichier est vide.
file-picture-too-large = Cette image est trop grande pour être envoyée.
file-picture-unreadable = Cette image n'a pas pu être lue.
file-conversation-full = Cette conversation ne peut plus recevoir de fichiers.
open-chat-unread-one = Ouvrir le chat (1 non lu)
kind-pdf = PDF
kind-zip = ZIP
kind-text = Texte
kind-image = Image
kind-document = Document
kind-spreadsheet = Tableur
kind-slides = Présentation
kind-file = Fichier
help-unavailable = Le centre d'aide est injoignable pour le moment. Posez-nous la question ci-dessous.
